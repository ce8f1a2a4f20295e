"""axe-core in the browser tests: every page a tab loads is checked; serious or critical findings fail.

axe-core (MPL-2.0, vendored in tests/support/axe/ with its licence, version in AXE_VERSION) is test-only, so it
is never served by the app. It is added to a browser context as an init script and runs once each page has
loaded. Each finding is written to the console as an error (which fails a test that collects console errors, as
the browser fixtures do) and kept in window.__axe, so a test can wait for the result of the page it is on;
``axe_check`` runs it again on demand (after a resize, say).
"""

from __future__ import annotations

import json
from pathlib import Path

AXE_VERSION = "4.14.1"
AXE_SOURCE = Path(__file__).parent / "axe" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")

# No preload: axe would fetch the page's stylesheets again (for one rule, css-orientation-lock); those requests
# ran beside the batch page's polling and made it fail now and then on SQLite.
_OPTIONS = "{resultTypes: ['violations'], preload: false}"

# A function of axe's result: its serious and critical findings, one line each.
_FINDINGS = """result => result.violations
  .filter(v => IMPACTS.includes(v.impact))
  .map(v => `axe ${v.id} (${v.impact}) on ${location.pathname}: `
    + v.nodes.map(n => n.target.join(' ')).join(', '))""".replace("IMPACTS", json.dumps(FAILING_IMPACTS))

_RUN_ON_LOAD = """
window.addEventListener('load', () => {
  if (window.top !== window || !window.axe) return;
  window.__axe = window.axe.run(document, AXE_OPTIONS).then(FINDINGS).then(findings => {
    findings.forEach(f => console.error(f));
    return findings;
  });
});
""".replace("FINDINGS", _FINDINGS).replace("AXE_OPTIONS", _OPTIONS)

_RUN_NOW = "() => window.axe.run(document, AXE_OPTIONS).then(FINDINGS)".replace("FINDINGS", _FINDINGS).replace(
    "AXE_OPTIONS", _OPTIONS
)


def install_axe(context) -> None:
    """Check every page this Playwright browser context loads."""
    context.add_init_script(script=AXE_SOURCE.read_text(encoding="utf-8"))
    context.add_init_script(script=_RUN_ON_LOAD)


def from_axe_itself(message) -> bool:
    """A console message axe caused while it checked, other than its findings: the CSP refusing a <style> it
    added, its warning that it could not preload a page's stylesheets.

    The browser names no address for what an init script (axe) did; a style in the page's own HTML, or
    anything a script of the app does, is reported with the page's or the script's address, so those still
    fail a test.
    """
    return not message.location.get("url") and not message.text.startswith("axe ")


def axe_findings(page) -> list[str]:
    """The serious and critical findings on the page the tab shows now (waits for axe to finish)."""
    page.wait_for_function("() => window.__axe !== undefined")
    return page.evaluate("() => window.__axe")


def axe_check(page) -> list[str]:
    """Run axe again on the page as it is now (after a resize or a script changed it); its serious findings."""
    page.wait_for_function("() => window.__axe !== undefined")
    page.evaluate("() => window.__axe")  # let the run on load finish: axe runs one at a time
    return page.evaluate(_RUN_NOW)


def settle(page) -> None:
    """Before a tab closes: let axe finish and the requests it made (stylesheets it reads) end, so no request of
    this test is still running on the live server when the next test starts."""
    if page.url.startswith("http"):
        page.wait_for_function("() => window.__axe !== undefined")
        page.evaluate("() => window.__axe")
        page.wait_for_load_state("networkidle")
