"""The officer's journey in French and in English: every visited page in the reader's language, with its formats.

Log in (the language picked on the login page with the switcher), the application form, the decision with
its reasons, the adverse-action notice form and the issued notice. On each page the visible text nodes are
collected; in French, one that is exactly an English msgid the catalog translates differently, or that holds
an English text of the model bundle (a label, a choice, a reason), is a string left untranslated, and fails
the test with the page and the text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import Profile
from scoring.engine import load_bundle
from scoring.models import AdverseActionNotice, Prediction
from tests.browser.conftest import NARROW, WIDE
from tests.browser.test_officer_flow import PASSWORD, fill_application
from tests.support import DEFAULT_BUNDLE
from tests.support.applications import inputs_by_decision
from tests.support.po import read_po

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CATALOG = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES" / "django.po"
# Visible text nodes, whitespace collapsed: what a reader sees, not what scripts or hidden elements hold.
VISIBLE_TEXTS = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    // Collapse only ASCII white space: JavaScript's \\s also matches the (narrow) no-break spaces of French numbers.
    const text = node.textContent.replace(/[ \\t\\n\\r]+/g, " ").trim();
    if (!text || !parent || parent.closest("script, style, [hidden], .visually-hidden")) continue;
    // Machine names (<code>) read the same in every language; a part marked as another language (a notice
    // issued in English, shown as issued) is in that language on purpose.
    if (parent.closest("code, kbd, samp")) continue;
    const marked = parent.closest("[lang]");
    if (marked && marked !== document.documentElement && marked.lang !== document.documentElement.lang) continue;
    if (parent.getClientRects().length === 0) continue;
    texts.push(text);
  }
  return texts;
}"""


def english_msgids_translated_differently() -> set[str]:
    """msgids of the French catalog whose French differs, without placeholders (they can be seen as they are)."""
    return {
        e.msgid
        for e in read_po(CATALOG)
        if e.msgid and e.msgstr and e.msgstr != e.msgid and "%(" not in e.msgid and e.msgid_plural is None
    }


def bundle_english_texts() -> set[str]:
    """The bundled model's English labels, choice labels and reason statements that differ in French."""
    model = load_bundle(DEFAULT_BUNDLE)
    texts: set[str] = set()
    for feature in model.all_fields:
        french = feature.in_language("fr")
        pairs = [(feature.label, french.label), (feature.raises[1], french.raises[1])]
        pairs += [(feature.lowers[1], french.lowers[1]), *zip(feature.choice_labels, french.choice_labels, strict=True)]
        texts |= {en for en, fr in pairs if en and en != fr and len(en) > 3}
    # A feature's machine name ("telephone") is a column name, the same in every language.
    return texts - {f.name for f in model.all_fields} - {f.name.capitalize() for f in model.all_fields}


def english_left_behind():
    """A check for French pages: the visible texts that are an English message of the catalog, and those
    holding an English text of the bundle (a label in a French sentence is as untranslated as a whole one)."""
    catalog = english_msgids_translated_differently()
    # Whole words only: a label inside a machine name (status_of_existing_checking_account) is not prose.
    bundle = re.compile(
        r"(?<![\w])("
        + "|".join(re.escape(t) for t in sorted(bundle_english_texts(), key=len, reverse=True))
        + r")(?![\w])",
        re.IGNORECASE,
    )

    def check(page) -> list[str]:
        # Stored machine data (a bundle's JSON metadata in the admin) is shown as it is, in no language.
        texts = [t for t in page.evaluate(VISIBLE_TEXTS) if not t.startswith(("{", "["))]
        found = {text for text in texts if text in catalog}
        found |= {text for text in texts if bundle.search(text)}
        return sorted(found)

    return check


def journey(page, live_server, *, language: str) -> dict[str, list[str]]:
    """The officer's pages in order; returns, per page, the visible English texts the catalog translates."""
    left_behind = english_left_behind() if language == "fr" else None
    found: dict[str, list[str]] = {}

    def visit(name: str) -> None:
        found[name] = left_behind(page) if left_behind else []

    page.goto(live_server.url + "/accounts/login/")
    other = "Français" if language == "fr" else None
    if other:
        page.get_by_role("button", name=other).click()  # the switcher on the login page
    expect(page.locator("html")).to_have_attribute("lang", language)
    visit("login")
    page.fill("#id_username", "officer")
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.wait_for_load_state()
    visit("home")

    page.goto(live_server.url + "/applications/new/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    visit("application form")
    inputs = dict(inputs_by_decision()["decline"])
    amount = inputs.pop("credit_amount")
    fill_application(page, inputs)
    # Typed the language's way: "7 882" in French, "7,882" in English.
    page.fill("#id_credit_amount", f"{amount:,}".replace(",", " " if language == "fr" else ","))
    page.locator("form.application-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/predictions/\d+/$"))
    page.wait_for_load_state()
    visit("decision")

    prediction = Prediction.objects.get()
    assert prediction.features["credit_amount"] == amount  # read as written, in either language
    page.goto(live_server.url + f"/predictions/{prediction.pk}/notice/")
    visit("notice form")
    page.fill("#id_applicant_name", "Anna Schmidt")
    page.fill("#id_applicant_address", "Hauptstrasse 5\n10115 Berlin")
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/notices/\d+/$"))
    page.wait_for_load_state()
    visit("notice")
    return found


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_officers_journey_reads_in_one_language(page, live_server, officer, live_active_version, language):
    found = journey(page, live_server, language=language)

    decision_text = " ".join(page.evaluate(VISIBLE_TEXTS))
    notice = AdverseActionNotice.objects.get()
    assert notice.content["language"] == language
    if language == "fr":
        assert Profile.objects.filter(user=officer).first() is None  # the switcher before login: the cookie
        assert "Principaux motifs de notre décision" in decision_text
        assert re.search(r"7\u202f882\u00a0DM", notice.content["action"])
    else:
        assert "Principal reasons for our decision" in decision_text
        assert "7,882 DM" in notice.content["action"]
    leftovers = {name: texts for name, texts in found.items() if texts}
    assert not leftovers, f"English left on French pages (page: texts): {leftovers}"


def test_french_pages_show_french_numbers_and_dates(page, live_server, officer, live_active_version):
    Profile.objects.create(user=officer, language="fr")
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "officer")
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.wait_for_load_state()
    page.goto(live_server.url + "/applications/new/")
    inputs = dict(inputs_by_decision()["decline"])
    fill_application(page, inputs)
    page.locator("form.application-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/predictions/\d+/$"))

    for viewport in (WIDE, NARROW):
        page.set_viewport_size(viewport)
        text = " ".join(page.evaluate(VISIBLE_TEXTS))
        assert re.search(r"\d,\d\u202f%", text), "a probability as '12,1 %' (comma, narrow no-break space)"
        assert not re.search(r"\d\.\d ?%", text), "no English percentage on a French page"
        assert re.search(r"\d{1,2} (janv|févr|mars|avr|mai|juin|juil|août|sept|oct|nov|déc)\.? \d{4}", text)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
