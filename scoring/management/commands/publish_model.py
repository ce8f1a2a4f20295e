"""Publish a local model bundle (MLflow CatBoost folder) to a Hugging Face Hub repo."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from scoring.engine import BundleRejected, load_bundle
from scoring.lifecycle import hub


class Command(BaseCommand):
    help = "Upload DIR (MLmodel, model.cb, input_example.json) to --repo, creating it if missing."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--repo", required=True, help="owner/name")
        parser.add_argument("--revision", default="main", help="branch to commit to (created if missing)")
        parser.add_argument("--private", action="store_true")
        parser.add_argument("--message", default="")

    def handle(self, *args, path, repo, revision, private, message, **options):
        folder = Path(path)
        try:
            model = load_bundle(folder)  # never publish something the app would reject on load
        except BundleRejected as exc:
            raise CommandError(f"Not a usable bundle: {exc}") from exc
        metrics = model.metadata.get("metrics") or {}
        summary = message or f"Publish {model.metadata.get('name') or folder.name} (threshold {model.threshold:g})"
        if metrics:
            summary += " " + json.dumps(metrics, sort_keys=True, default=str)[:300]
        try:
            commit = hub.publish_bundle(path=folder, repo_id=repo, revision=revision, message=summary, private=private)
        except hub.HubError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Published {folder} to {repo}@{revision}: commit {commit}"))
