"""Load a loan outcome CSV (the upload page's format and rules) as a user: counts, or every error and exit 1."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from scoring.exceptions import NotAllowed
from scoring.models import LoanOutcome
from scoring.outcomes import csv_file, services


class Command(BaseCommand):
    help = (
        "Check and store the loan outcomes of a CSV file (the columns of the upload page's template; "
        "docs/outcomes.md), all or nothing, as an auditor or model administrator. Prints the counts, or "
        "every error (row, column, problem) and exits with status 1 having stored nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file")
        parser.add_argument("--user", required=True, help="username of the auditor or model administrator")

    def handle(self, *args, file, user, **options):
        account = get_user_model().objects.filter(username=user, is_active=True).first()
        if account is None:
            raise CommandError(f"No active user {user!r}.")
        path = Path(file)
        try:
            with path.open("rb") as fh:
                read = csv_file.read_outcome_file(
                    fh, max_bytes=settings.OUTCOMES_MAX_BYTES, max_rows=settings.OUTCOMES_MAX_ROWS
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}") from exc
        except csv_file.InvalidOutcomeFile as exc:
            self._errors(exc.errors)
            raise CommandError(f"{path.name} was refused; nothing was stored.") from exc
        try:
            result = services.record_outcomes(
                read.rows,
                user=account,
                source=LoanOutcome.Source.COMMAND,
                source_ref=path.name,
                sha256=read.sha256,
                numbers=read.numbers,
            )
        except NotAllowed as exc:
            raise CommandError(str(exc)) from exc
        if not result.ok:
            self._errors(result.errors)
            raise CommandError(f"{path.name} was refused: {len(result.errors)} error(s); nothing was stored.")
        upload = f" as upload #{result.upload.pk}" if result.upload else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{path.name}: {result.rows} rows, {result.stored} new outcomes, {result.corrected} corrections, "
                f"{result.unchanged} unchanged{upload}."
            )
        )

    def _errors(self, errors):
        for error in errors:
            where = f"row {error.row}" if error.row else "file"
            column = f", {error.field}" if error.field else ""
            self.stderr.write(f"{where}{column}: {error.message}")
