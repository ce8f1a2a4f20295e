"""Model fields of our own: JSON kept as the text it was written as."""

from __future__ import annotations

import json

from django.db import models


class JSONTextField(models.JSONField):
    """JSON stored as the text it was written as: PostgreSQL's ``json`` type rather than ``jsonb``.

    For an audit record the exact text is the better copy (keys in the order given), and
    PostgreSQL then only checks the JSON on insert instead of converting it, which was a third
    of a batch row's insert cost (bench/README.md). Nothing queries inside these columns; they
    are read whole. Other databases store JSON as text anyway.
    """

    def db_type(self, connection):
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        # As text, not psycopg's Jsonb (which PostgreSQL would parse into jsonb and print back
        # normalised): the column then holds exactly the JSON the app wrote, as COPY writes it.
        if connection.vendor == "postgresql" and value is not None and not hasattr(value, "as_sql"):
            return json.dumps(value, cls=self.encoder)
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value, expression, connection):
        if value is not None and not isinstance(value, str):
            return value  # psycopg parses ``json`` columns itself (Django only asks it not to for jsonb)
        return super().from_db_value(value, expression, connection)
