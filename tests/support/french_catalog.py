"""A French catalog for tests, compiled from locale/fr/LC_MESSAGES/django.po in Python (no gettext tools needed).

Tests of French output point LOCALE_PATHS at a temporary folder holding this catalog, so they read the
translations of the .po as it stands, even before `make compilemessages` has rewritten the committed .mo.
"""

from __future__ import annotations

import ast
import struct
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[2] / "locale" / "fr" / "LC_MESSAGES" / "django.po"
HEADER = "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n > 1);\n"


def read_po(path: Path) -> dict[str, str]:
    """msgid (msgid NUL msgid_plural for plurals; after msgctxt EOT for one with a context) -> msgstr (msgstr[0]
    NUL msgstr[1]), as a .mo file keys them."""
    catalog: dict[str, str] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        parts: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line.startswith('"'):
                parts[key] += ast.literal_eval(line)
                continue
            key, _, literal = line.partition(" ")
            parts[key] = ast.literal_eval(literal)
        if not parts.get("msgid"):
            continue
        context = parts["msgctxt"] + "\x04" if "msgctxt" in parts else ""
        if "msgid_plural" in parts:
            both = context + parts["msgid"] + "\0" + parts["msgid_plural"]
            catalog[both] = parts["msgstr[0]"] + "\0" + parts["msgstr[1]"]
        else:
            catalog[context + parts["msgid"]] = parts["msgstr"]
    return catalog


def write_mo(catalog: dict[str, str], path: Path) -> None:
    """The GNU .mo format: header, two tables of (length, offset), then the NUL-terminated strings."""
    entries = sorted({"": HEADER, **catalog}.items())
    ids = b"".join(k.encode() + b"\0" for k, _ in entries)
    strs = b"".join(v.encode() + b"\0" for _, v in entries)
    count = len(entries)
    start_ids = 7 * 4 + 16 * count
    start_strs = start_ids + len(ids)
    id_table, str_table, id_at, str_at = [], [], 0, 0
    for key, value in entries:
        id_table += [len(key.encode()), start_ids + id_at]
        str_table += [len(value.encode()), start_strs + str_at]
        id_at += len(key.encode()) + 1
        str_at += len(value.encode()) + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        struct.pack("<7I", 0x950412DE, 0, count, 7 * 4, 7 * 4 + 8 * count, 0, 0)
        + struct.pack(f"<{4 * count}I", *id_table, *str_table)
        + ids
        + strs
    )


def install(folder: Path) -> Path:
    """The French catalog compiled into ``folder``/fr/LC_MESSAGES/django.mo; returns ``folder`` for LOCALE_PATHS."""
    write_mo(read_po(CATALOG), folder / "fr" / "LC_MESSAGES" / "django.mo")
    return folder
