"""axe-core in the browser tests: every page a tab loads is checked; serious or critical findings fail.

axe-core (MPL-2.0, vendored in tests/support/axe/ with its licence, version in AXE_VERSION) is test-only, so it
is never served by the app. It is added to a browser context as an init script and runs once each page has
loaded; the context needs bypass_csp=True, because axe adds <style> elements that the app's Content-Security-Policy
refuses. Each finding is written to the console as an error and kept in window.__axe, so a test can wait for
the result of the page it is on.
"""

from __future__ import annotations

from pathlib import Path

AXE_VERSION = "4.14.1"
AXE_SOURCE = Path(__file__).parent / "axe" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")

_RUN_ON_LOAD = """
window.addEventListener('load', () => {
  if (window.top !== window || !window.axe) return;
  window.__axe = window.axe.run(document, {resultTypes: ['violations']}).then(result => {
    const findings = result.violations
      .filter(v => %s.includes(v.impact))
      .map(v => `axe ${v.id} (${v.impact}) on ${location.pathname}: `
        + v.nodes.map(n => n.target.join(' ')).join(', '));
    findings.forEach(f => console.error(f));
    return findings;
  });
});
"""


def install_axe(context) -> None:
    """Check every page this Playwright browser context loads."""
    context.add_init_script(script=AXE_SOURCE.read_text(encoding="utf-8"))
    context.add_init_script(script=_RUN_ON_LOAD % list(FAILING_IMPACTS))


def axe_findings(page) -> list[str]:
    """The serious and critical findings on the page the tab shows now (waits for axe to finish)."""
    page.wait_for_function("() => window.__axe !== undefined")
    return page.evaluate("() => window.__axe")
