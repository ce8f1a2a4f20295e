"""Compose and deploy YAML files are checked with a loader that refuses a key given twice, as CI does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.conf import settings

CHECK = Path(settings.BASE_DIR) / "deploy" / "check-yaml"


def _check(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHECK), *map(str, files)], capture_output=True, text=True, check=False, timeout=60
    )


def test_the_repositorys_compose_and_deploy_files_define_no_key_twice():
    result = _check()
    assert result.returncode == 0, result.stderr
    assert "docker-compose.yml" not in result.stderr
    assert "0 problem(s)" in result.stdout


def test_a_service_defined_twice_is_refused_with_both_lines(tmp_path):
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(
        "x-app: &app\n  image: app\nservices:\n  beat:\n    <<: *app\n    image: own\n"
        "  web:\n    <<: *app\n  beat:\n    <<: *app\n"
    )
    result = _check(compose)
    assert result.returncode == 1
    assert "key 'beat' is defined twice (lines 4 and 9)" in result.stderr


def test_keys_merged_in_may_be_overridden(tmp_path):
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("x-app: &app\n  image: app\n  command: a\nservices:\n  web:\n    <<: *app\n    command: b\n")
    assert _check(compose).returncode == 0
