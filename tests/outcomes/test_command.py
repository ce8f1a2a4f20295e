"""manage.py load_outcomes: the page's reader and service from a shell; counts, or the errors and exit status 1."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from scoring.models import LoanOutcome, OutcomeUpload

TODAY = timezone.localdate().isoformat()
HEADER = "decision_id,external_ref,outcome,observed_on,days_past_due,reason"


def run(path, username):
    out, err = io.StringIO(), io.StringIO()
    call_command("load_outcomes", str(path), "--user", username, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_loads_a_file_and_prints_the_counts(tmp_path, decisions, auditor):
    path = tmp_path / "june.csv"
    path.write_text(f"{HEADER}\n,LOAN-1,repaid,{TODAY},,\n{decisions[1].pk},,defaulted,{TODAY},90,\n")

    out, _ = run(path, auditor.username)

    assert "june.csv: 2 rows, 2 new outcomes, 0 corrections, 0 unchanged as upload #" in out
    assert OutcomeUpload.objects.get().source == "command" and LoanOutcome.objects.count() == 2
    out, _ = run(path, auditor.username)
    assert "0 new outcomes, 0 corrections, 2 unchanged." in out and LoanOutcome.objects.count() == 2


def test_errors_are_printed_and_the_exit_status_is_not_zero(tmp_path, decisions, auditor):
    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\n,LOAN-1,repaid,{TODAY},,\n,NOPE,repaid,{TODAY},,\n")
    err = io.StringIO()

    with pytest.raises(CommandError, match=r"bad\.csv was refused: 1 error"):
        call_command("load_outcomes", str(path), "--user", auditor.username, stderr=err)

    assert "row 2, external_ref: “NOPE” matches no decision." in err.getvalue()
    assert not LoanOutcome.objects.exists()


def test_an_unreadable_file_an_unknown_user_and_an_officer_are_refused(tmp_path, decisions, auditor, officer):
    header_only = tmp_path / "empty.csv"
    header_only.write_text("colour\n")
    with pytest.raises(CommandError, match="refused"):
        run(header_only, auditor.username)
    with pytest.raises(CommandError, match="Cannot read"):
        run(tmp_path / "missing.csv", auditor.username)
    good = tmp_path / "good.csv"
    good.write_text(f"{HEADER}\n,LOAN-1,repaid,{TODAY},,\n")
    with pytest.raises(CommandError, match="No active user"):
        run(good, "nobody")
    with pytest.raises(CommandError, match="may not record"):
        run(good, officer.username)
    assert not LoanOutcome.objects.exists()


def test_the_exit_status_seen_by_a_shell_is_1(tmp_path, decisions, auditor):
    from django.core.management import ManagementUtility

    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\n,NOPE,repaid,{TODAY},,\n")
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "load_outcomes", str(path), "--user", auditor.username]).execute()
    assert exited.value.code == 1
