"""Helpers shared by the test packages: bundles, files, a local Hub, data builders, settings for subprocesses."""

import hashlib
import shutil
import tempfile
from pathlib import Path

# The committed model bundle that `make run` activates.
COMMITTED_BUNDLE = Path(__file__).resolve().parents[2] / "scoring" / "bundles" / "default"


def _with_validation_sample(bundle: Path) -> Path:
    """The committed bundle, or while it ships no labelled sample a copy of it with the reference sample as one.

    Validation refuses a bundle without its own sample; once the committed bundle carries one this
    returns it unchanged.
    """
    if "validation_sample:" in (bundle / "MLmodel").read_text(encoding="utf-8"):
        return bundle
    files = sorted(p for p in bundle.iterdir() if p.is_file())
    digest = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in files)).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"creditscore-test-bundle-{digest}"
    if not (folder / "MLmodel").is_file():
        # Built aside and renamed, so parallel test processes never see half a bundle.
        staging = Path(tempfile.mkdtemp(prefix="creditscore-test-bundle-"))
        for path in files:
            shutil.copy(path, staging / path.name)
        shutil.copy(bundle.parents[1] / "data" / "reference_sample.csv", staging / "validation_sample.csv")
        text = (
            (bundle / "MLmodel")
            .read_text(encoding="utf-8")
            .replace(
                "metadata:\n",
                "metadata:\n  validation_sample:\n    file: validation_sample.csv\n    target: creditability\n"
                "    bad_value: bad\n",
                1,
            )
        )
        (staging / "MLmodel").write_text(text, encoding="utf-8")
        try:
            staging.rename(folder)
        except OSError:
            shutil.rmtree(staging)  # another process got there first
    return folder


DEFAULT_BUNDLE = _with_validation_sample(COMMITTED_BUNDLE)
