"""Fixtures for the model lifecycle tests: a local Hub in a subprocess and bundles to publish on it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import yaml

from tests.support import DEFAULT_BUNDLE, hub_server
from tests.support.processes import free_port


@dataclass
class LocalHub:
    root: Path
    endpoint: str
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_hub(root: Path) -> LocalHub:
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    script = Path(hub_server.__file__)
    process = subprocess.Popen([sys.executable, str(script), str(root), str(port)])
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx2.get(f"{endpoint}/api/models/none/none", timeout=1)
            break
        except httpx2.HTTPError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError("the local Hub did not start")
    return LocalHub(root=root, endpoint=endpoint, process=process)


@pytest.fixture(scope="session")
def local_hub(tmp_path_factory):
    hub = start_hub(tmp_path_factory.mktemp("hub"))
    yield hub
    hub.stop()


@pytest.fixture
def hub_settings(settings, local_hub):
    settings.HF_ENDPOINT = local_hub.endpoint
    settings.HF_TOKEN = None
    settings.HF_TIMEOUT = 5.0
    settings.MODEL_ACTIVATION_REQUIRES_SECOND_ADMIN = False
    return settings


# The committed bundle's decision threshold, as written in its MLmodel.
DEFAULT_THRESHOLD = yaml.safe_load((DEFAULT_BUNDLE / "MLmodel").read_text())["metadata"]["threshold"]


def bundle_variant(target: Path, *, threshold: str | None = None, rename_feature: bool = False) -> Path:
    """A copy of the committed bundle with a changed threshold or a schema that no longer fits the model."""
    shutil.copytree(DEFAULT_BUNDLE, target)
    text = (target / "MLmodel").read_text()
    if threshold is not None:
        text = text.replace(f"threshold: {DEFAULT_THRESHOLD}", f"threshold: {threshold}", 1)
        # The refer band and the risk band that end at the threshold move with it (the contract's band rule).
        text = text.replace(f"upper: {DEFAULT_THRESHOLD}\n", f"upper: {threshold}\n")
    if rename_feature:
        text = text.replace("  - name: duration_in_month\n", "  - name: loan_duration_in_month\n", 1)
    (target / "MLmodel").write_text(text)
    return target
