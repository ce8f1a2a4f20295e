"""Turn a plain MLflow CatBoost model folder and a labelled sample into a complete bundle the app accepts."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from scoring.engine.prepare import BEST, DEFAULT_REFER_SHARE, FITTED, PreparationRefused, prepare_bundle
from scoring.engine.schema import BundleRejected
from scoring.engine.training import COST_APPROVE_BAD, COST_DECLINE_GOOD


def _threshold(text: str) -> float | str:
    if text in (FITTED, BEST):
        return text
    try:
        return float(text)
    except ValueError:
        raise CommandError(f"--threshold {text!r}: give 'fitted', 'best' or a probability such as 0.35.") from None


class Command(BaseCommand):
    help = (
        "Infer the feature schema, fit the threshold, refer band and risk bands on a labelled sample, and write "
        "the creditscore metadata, reference distributions, validation sample and input example into the bundle."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The folder mlflow.catboost.save_model wrote.")
        parser.add_argument("--sample", required=True, type=Path, help="Labelled CSV: the features and the target.")
        parser.add_argument("--target", required=True, help="The sample's outcome column.")
        parser.add_argument("--bad-value", default=None, help="The target value meaning default (else 1/true/bad).")
        parser.add_argument(
            "--cost-fn", type=float, default=COST_APPROVE_BAD, help="Cost of approving a bad applicant."
        )
        parser.add_argument(
            "--cost-fp", type=float, default=COST_DECLINE_GOOD, help="Cost of declining a good applicant."
        )
        parser.add_argument(
            "--threshold",
            default=FITTED,
            help="'fitted' (cost-optimal on the sample, the default), 'best' (the MLmodel's best_threshold) "
            "or a probability.",
        )
        parser.add_argument(
            "--refer-share",
            type=float,
            default=DEFAULT_REFER_SHARE,
            help="Share of the sample referred, just below the threshold.",
        )
        parser.add_argument("--labels", type=Path, default=None, help="YAML of labels, help, units, sections, choices.")
        parser.add_argument("--out", type=Path, default=None, help="New folder to write (default: PATH itself).")

    def handle(
        self, *args, path, sample, target, bad_value, cost_fn, cost_fp, threshold, refer_share, labels, out, **o
    ):
        try:
            prepared = prepare_bundle(
                model_dir=path,
                sample_path=sample,
                target=target,
                bad_value=bad_value,
                cost_fn=cost_fn,
                cost_fp=cost_fp,
                labels_path=labels,
                threshold=_threshold(threshold),
                refer_share=refer_share,
                out_dir=out,
            )
        except PreparationRefused as exc:
            raise CommandError(f"Cannot prepare {path}:\n{exc}") from exc
        except BundleRejected as exc:
            raise CommandError(f"The prepared bundle does not load: {exc}") from exc
        for line in prepared.report:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Wrote the bundle to {prepared.out_dir}."))
