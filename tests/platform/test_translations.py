"""Every page reads in French and English: no template text outside translate tags, a complete French catalog,
a compiled catalog that matches it, and no string of the code missing from it.

The checks need no GNU gettext (tests/support/po.py reads PO files; the standard library reads the .mo),
except the last, which extracts the strings with makemessages and is skipped, saying so, without it.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.utils import translation

from tests.support.po import Entry, read_po

BASE = Path(settings.BASE_DIR)
TEMPLATES = BASE / "templates"
PO = BASE / "locale" / "fr" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")

# Words a page may show untranslated: the product's name and symbols read the same in both languages.
ALLOWED_WORDS = frozenset(
    {
        "creditscore",
        "cs",
        "DM",
        "PD",
        "API",
        "CSV",
        "PDF",
        "AUC",
        "KS",
        "PSI",
        "AIR",
        "ID",
        "IDs",
        "sha",
        "ms",
        "Gini",
        "Brier",
    }
)
# Attributes whose values people read (or hear, with a screen reader).
READ_ATTRIBUTES = re.compile(r"""\b(title|aria-label|alt|placeholder)\s*=\s*(["'])(.*?)\2""", re.S)
TRANSLATED_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans", "comment": "endcomment"}
PLACEHOLDER = "\x00"  # stands for a variable or a tag: neither a letter nor a space


def _text_outside_translation(source: str) -> str:
    """The template with tags, variables, comments and translated blocks blanked, keeping line breaks."""
    out: list[str] = []
    closing: str | None = None
    for token in Lexer(source).tokenize():
        blank = PLACEHOLDER + "\n" * token.contents.count("\n")
        words = token.contents.split()
        if closing is not None:
            if token.token_type == TokenType.BLOCK and words[:1] == [closing]:
                closing = None
            out.append(blank)
        elif token.token_type == TokenType.TEXT:
            out.append(token.contents)
        else:
            if token.token_type == TokenType.BLOCK and words and words[0] in TRANSLATED_BLOCKS:
                closing = TRANSLATED_BLOCKS[words[0]]
            out.append(blank)
    return "".join(out)


def _untranslated_words(text: str) -> list[str]:
    # A word joined to a variable by a hyphen is a CSS class or an id being built ("app-{{ label }}").
    text = re.sub(r"[\w-]*-" + PLACEHOLDER, " ", text)
    words = re.findall(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*", text.replace(PLACEHOLDER, " "))
    return [w for w in words if w not in ALLOWED_WORDS]


def untranslated_text(path: Path) -> list[tuple[int, str]]:
    """(line, words) for each line of a template with visible text outside translate tags."""
    document = _text_outside_translation(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for match in READ_ATTRIBUTES.finditer(document):
        words = _untranslated_words(match.group(3))
        if words:
            found.append((document.count("\n", 0, match.start()) + 1, " ".join(words)))
    # Machine text in <code> (column names, a CSV example) reads the same in every language.
    document = re.sub(r"<code>.*?</code>", lambda m: " " + "\n" * m.group(0).count("\n"), document, flags=re.S)
    # Tags (their read attributes checked above), then entities, keeping the line breaks.
    visible = re.sub(r"<[^>]*>", lambda m: " " + "\n" * m.group(0).count("\n"), document)
    visible = re.sub(r"&(#\d+|#x[0-9a-fA-F]+|\w+);", " ", visible)
    for number, line in enumerate(visible.split("\n"), start=1):
        words = _untranslated_words(line)
        if words:
            found.append((number, " ".join(words)))
    return sorted(found)


def test_the_checker_finds_text_outside_translate_tags_and_nothing_else(tmp_path):
    template = tmp_path / "sample.html"
    template.write_text(
        '{% load i18n %}<h1 title="Loan">{% translate "Loan" %}</h1>\n'
        "<p>{% blocktranslate trimmed with n=count %}{{ n }} loans{% endblocktranslate %} · DM</p>\n"
        "{# a comment #}{% comment %}Notes for developers{% endcomment %}<a href=\"{% url 'x' %}\">Home</a>\n"
        '<img alt="{% translate "Chart" %}" src="x.png"> &nbsp; creditscore <b aria-label="Close">\u00d7</b>\n',
        encoding="utf-8",
    )

    assert untranslated_text(template) == [(1, "Loan"), (3, "Home"), (4, "Close")]


def test_no_template_shows_text_outside_translate_tags():
    found = [
        f"{path.relative_to(BASE)}:{number}: {words}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, words in untranslated_text(path)
    ]
    files = sorted({line.split(":", 1)[0] for line in found})
    assert not found, (
        f"{len(found)} template lines in {len(files)} files show text outside {{% translate %}} or "
        "{% blocktranslate %} (wrap it; a symbol or brand name read the same in every language goes into "
        "ALLOWED_WORDS):\n" + "\n".join(found)
    )


def _catalog() -> list[Entry]:
    assert PO.exists(), f"{PO.relative_to(BASE)} is missing: run `make messages`, translate, `make compilemessages`."
    return [e for e in read_po(PO) if not e.obsolete]


def test_the_french_catalog_has_no_fuzzy_or_empty_entries():
    entries = [e for e in _catalog() if e.msgid]
    fuzzy = [f"line {e.line}: {e.msgid!r}" for e in entries if "fuzzy" in e.flags]
    empty = [f"line {e.line}: {e.msgid!r}" for e in entries if not all(t.strip() for t in e.translations)]
    assert entries, "the French catalog has no entries"
    assert not fuzzy, "fuzzy entries (check the translation, then remove the flag):\n" + "\n".join(fuzzy)
    assert not empty, "entries without a French translation:\n" + "\n".join(empty)


def test_the_compiled_catalog_is_the_french_catalog():
    """django.mo is compiled from django.po as it is now (``make compilemessages``), not an older version."""
    assert MO.exists(), f"{MO.relative_to(BASE)} is missing: run `make compilemessages` and commit it."
    with MO.open("rb") as handle:
        compiled = {k: v for k, v in gettext.GNUTranslations(handle)._catalog.items() if k != ""}
    expected: dict[object, str] = {}
    for entry in _catalog():
        if not entry.msgid or "fuzzy" in entry.flags:
            continue  # the header; msgfmt leaves fuzzy entries out
        if entry.msgid_plural is not None:
            expected.update({(entry.key, n): text for n, text in entry.msgstr_plural.items() if text})
        elif entry.msgstr:
            expected[entry.key] = entry.msgstr
    missing = sorted(str(k) for k in expected.keys() - compiled.keys())
    stale = sorted(str(k) for k in compiled.keys() - expected.keys())
    changed = sorted(str(k) for k in expected.keys() & compiled.keys() if expected[k] != compiled[k])
    assert not (missing or stale or changed), (
        "django.mo does not match django.po: run `make compilemessages`.\n"
        f"not compiled: {missing[:10]}\nno longer in the .po: {stale[:10]}\ntranslated differently: {changed[:10]}"
    )


def _django_translates(key: str) -> bool:
    """Whether Django's own French catalogs translate a msgid our templates reuse (admin's site title)."""
    context, _, msgid = key.rpartition("\x04")
    with translation.override("fr"):
        translated = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
    return translated != msgid


@pytest.mark.skipif(
    shutil.which("xgettext") is None and not os.environ.get("CI"),  # CI installs gettext: there it always runs
    reason="GNU gettext (xgettext) is not installed: the strings of the code cannot be extracted to compare",
)
def test_every_string_of_the_code_is_in_the_french_catalog(tmp_path):
    """makemessages, run on a copy of the code, finds no msgid the catalog lacks."""
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns("*.cb", "*.csv", "__pycache__", "*.mo", "*.po", "bundles", "data")
    for name in ("creditscore", "scoring", "accounts", "templates"):
        shutil.copytree(BASE / name, copy / name, ignore=ignore)
    shutil.copy(BASE / "manage.py", copy / "manage.py")
    (copy / "locale" / "fr" / "LC_MESSAGES").mkdir(parents=True)
    command = [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-obsolete", "--no-location"]
    result = subprocess.run(command, cwd=copy, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    extracted = {e.key for e in read_po(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po") if e.msgid}
    known = {e.key for e in _catalog() if e.msgid}
    missing = sorted(key for key in extracted - known if not _django_translates(key))
    assert not missing, f"{len(missing)} strings of the code are not in {PO.relative_to(BASE)}:\n" + "\n".join(
        repr(m) for m in missing[:200]
    )
