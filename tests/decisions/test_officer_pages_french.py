"""The officer's pages and messages in French, from the French catalog.

The catalog (locale/fr/LC_MESSAGES/django.po) is compiled here into a catalogue of its own, so these
tests read the .po as it stands: a page text left outside the translate tags, or a message not passed
through gettext, stays English and fails them.
"""

from __future__ import annotations

import ast
import re
import struct
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

from scoring.decisions import services
from scoring.exceptions import NotAllowed
from scoring.models import Decision, Review
from tests.support.applications import decided

CATALOG = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def read_po(path: Path) -> dict[str | tuple[str, str], str | tuple[str, ...]]:
    """msgid (or (msgid, msgid_plural)) -> msgstr (or the plural forms), the header under ""."""
    entries: dict = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line.startswith('"'):
                fields[key] += ast.literal_eval(line)
                continue
            key, _, value = line.partition(" ")
            fields[key] = ast.literal_eval(value)
        if "msgid" not in fields:
            continue
        if "msgid_plural" in fields:
            forms = tuple(fields[k] for k in sorted(k for k in fields if k.startswith("msgstr[")))
            entries[(fields["msgid"], fields["msgid_plural"])] = forms
        else:
            entries[fields["msgid"]] = fields["msgstr"]
    return entries


def write_mo(entries: dict, path: Path) -> None:
    """A GNU .mo catalogue (what compilemessages writes) of ``entries``, without gettext's tools."""
    pairs = sorted(
        ("\0".join(key).encode(), "\0".join(value).encode())
        if isinstance(key, tuple)
        else (key.encode(), value.encode())
        for key, value in entries.items()
    )
    count = len(pairs)
    originals_at = 7 * 4  # after the header: magic, revision, count, two table offsets, hash size and offset
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    tables, data = [b"", b""], b""
    for column in (0, 1):
        for pair in pairs:
            tables[column] += struct.pack("<2I", len(pair[column]), data_at + len(data))
            data += pair[column] + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, originals_at, translations_at, 0, data_at)
    path.write_bytes(header + tables[0] + tables[1] + data)


@pytest.fixture(scope="module")
def catalog():
    return read_po(CATALOG)


@pytest.fixture
def french(tmp_path, catalog):
    """French pages from the catalog: the language a French-speaking officer's requests get."""
    messages = tmp_path / "fr" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    write_mo(catalog, messages / "django.mo")
    with override_settings(LOCALE_PATHS=[str(tmp_path)]), translation.override("fr"):
        yield  # leaving override_settings drops the cached catalogues (Django's setting_changed receiver)


def french_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(user)
    return client


def main_text(response) -> str:
    """The page's main text, all whitespace (no-break spaces too) as single spaces."""
    assert response.status_code == 200
    main = BeautifulSoup(response.content, "html.parser").find("main")
    return " ".join(main.get_text(" ").split())


def test_the_catalog_translates_every_entry_with_the_same_placeholders(catalog):
    assert catalog[""].startswith("Project-Id-Version")
    assert "Plural-Forms: nplurals=2; plural=(n > 1);" in catalog[""]
    for msgid, msgstr in catalog.items():
        if msgid == "":
            continue
        sources = msgid if isinstance(msgid, tuple) else (msgid,)
        targets = msgstr if isinstance(msgstr, tuple) else (msgstr,)
        assert all(t.strip() for t in targets), msgid
        wanted = {name for source in sources for name in PLACEHOLDER.findall(source)}
        for target in targets:
            assert set(PLACEHOLDER.findall(target)) == wanted, msgid
    # The decision words of the glossary.
    assert catalog["Approve"] == "Accorder"
    assert catalog["Refer"] == "Transmettre pour examen"
    assert catalog["Decline"] == "Refuser"


def test_the_decision_page_reads_in_french(french, officer, active_version):
    prediction = decided(officer, Decision.DECLINE)
    text = main_text(french_client(officer).get(reverse("scoring:prediction-detail", args=[prediction.pk])))
    for shown in (
        f"Décision #{prediction.pk}",
        "Décision du modèle",
        "Refuser",
        "Probabilité de défaut",
        "Classe de risque",
        "Principaux motifs du refus",
        "Ce qui pourrait être proposé",
        "Enregistrer votre revue",
        "Demande telle qu'évaluée",
        "Version imprimable",
    ):
        assert shown in text, shown
    for english in ("Model decision", "Probability of default", "Main reasons", "Record your review", "Reviews"):
        assert english not in text, english


def test_the_review_form_and_its_errors_read_in_french(french, officer, active_version):
    prediction = decided(officer, Decision.DECLINE)
    client = french_client(officer)
    url = reverse("scoring:prediction-review", args=[prediction.pk])
    text = main_text(client.post(url, {"outcome": Review.Outcome.APPROVE, "reason_code": "", "justification": ""}))
    assert "Veuillez corriger 2 champs" in text
    assert "Choisissez un motif pour cette décision." in text
    assert "Une dérogation exige une justification écrite (10 caractères au moins)." in text
    assert "Déroger : accorder" in text
    response = client.post(url, {"outcome": Review.Outcome.AGREE}, follow=True)
    assert "Votre revue a été enregistrée." in main_text(response)


def test_the_start_page_list_and_referral_queue_read_in_french(french, officer, active_version):
    decided(officer, Decision.REFER)
    client = french_client(officer)
    home = main_text(client.get(reverse("scoring:home")))
    assert "Bienvenue, Olivia" in home
    assert "Nouvelle demande" in home and "Vos dernières décisions" in home
    assert "En attente de votre décision" in home
    assert "pas encore décidée" in home  # the referral's final outcome in the table
    mine = main_text(client.get(reverse("scoring:prediction-mine")))
    assert "Mes décisions" in mine and "Filtrer" in mine and "Effacer" in mine
    assert "Transmettre pour examen" in mine
    queue = main_text(client.get(reverse("scoring:referral-queue")))
    assert "File des dossiers à examiner" in queue
    assert "1 résultat." in queue
    assert "Personne pour l'instant" in queue


def test_the_application_form_and_batch_pages_read_in_french(french, officer, active_version):
    client = french_client(officer)
    form = main_text(client.get(reverse("scoring:application-new")))
    assert "Nouvelle demande" in form and "Référence de la demande" in form and "Évaluer la demande" in form
    assert "Score application" not in form
    upload = main_text(client.get(reverse("scoring:batch-new")))
    assert "Évaluer un fichier CSV" in upload and "Envoyer et évaluer" in upload
    assert "Une demande par ligne." in upload
    jobs = main_text(client.get(reverse("scoring:batch-list")))
    assert "Traitements par lot" in jobs and "Aucun traitement par lot pour l'instant." in jobs


def test_a_refused_batch_header_is_explained_in_french(french, officer, active_version):
    client = french_client(officer)
    csv = b"external_ref,no_such_column\nA-1,1\n"
    response = client.post(reverse("scoring:batch-new"), {"file": SimpleUploadedFile("x.csv", csv)})
    assert response.status_code == 400
    text = " ".join(BeautifulSoup(response.content, "html.parser").find("main").get_text(" ").split())
    assert "Colonne(s) manquante(s) :" in text
    assert "Colonne(s) inconnue(s) : 'no_such_column'." in text


def test_service_errors_follow_the_active_language(french, officer, other_officer, active_version):
    prediction = decided(officer, Decision.REFER)
    with pytest.raises(NotAllowed) as refused:
        services.take_referral(user=other_officer, prediction=prediction)
    assert (
        str(refused.value) == "Seul un chargé de crédit de l'équipe peut prendre en charge un dossier transmis ouvert."
    )
    with translation.override("en"), pytest.raises(NotAllowed) as refused:
        services.take_referral(user=other_officer, prediction=prediction)
    assert str(refused.value) == "Only an officer of the team can take an open referral."
