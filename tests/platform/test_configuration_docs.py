"""docs/configuration.md documents exactly the environment variables the app reads, no more, no fewer.

The variables are parsed from the source, not imported: creditscore/settings.py (django-environ's
``env.str("NAME", ...)``, ``env.bool``, ``env.int``, ``env.float``, ``env.list``, ``env.path``,
``env.db_url`` and the rest, ``env("NAME")``, and ``os.environ`` / ``os.getenv``), plus every other
module of the app that reads ``os.environ`` itself (gunicorn.conf.py, the Celery worker's metrics,
the entry points' ``DJANGO_SETTINGS_MODULE``). The documented names are the first column of the
table in docs/configuration.md.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "creditscore" / "settings.py"
DOCS = ROOT / "docs" / "configuration.md"
# Everything that runs as the app: settings, the three packages, gunicorn's config and manage.py.
APP_PACKAGES = ("creditscore", "scoring", "accounts")
APP_FILES = ("gunicorn.conf.py", "manage.py")

_OS_ENVIRON_METHODS = {"get", "setdefault"}
_VARIABLE = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _is_os_getenv(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "getenv"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _is_membership_test(node: ast.AST) -> bool:
    return isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn)


def _name_in(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def environment_reads(source: str, *, django_environ: bool) -> tuple[set[str], list[str]]:
    """(variable names read, descriptions of environment accesses this parser does not understand).

    ``django_environ``: also read the ``env`` object of django-environ (settings.py's ``env = environ.Env()``).
    """
    tree = ast.parse(source)
    names: set[str] = set()
    understood: set[int] = set()  # ids of the env / os.environ / os.getenv nodes that were parsed

    def found(name: str | None, marker: ast.AST) -> None:
        if name is not None:
            names.add(name)
            understood.add(id(marker))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            first = node.args[0] if node.args else None
            if django_environ and isinstance(func, ast.Name) and func.id == "env":
                found(_name_in(first), func)  # env("NAME", default=...)
            elif django_environ and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if func.value.id == "env":
                    found(_name_in(first), func.value)  # env.str("NAME", ...), env.db_url("NAME", ...), ...
                elif func.value.id == "environ" and func.attr == "Env":
                    for keyword in node.keywords:  # environ.Env(NAME=(cast, default))
                        if keyword.arg:
                            names.add(keyword.arg)
            if isinstance(func, ast.Attribute) and func.attr in _OS_ENVIRON_METHODS and _is_os_environ(func.value):
                found(_name_in(first), func.value)  # os.environ.get("NAME"), os.environ.setdefault("NAME", ...)
            elif _is_os_getenv(func):
                found(_name_in(first), func)  # os.getenv("NAME")
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value) and isinstance(node.ctx, ast.Load):
            found(_name_in(node.slice), node.value)  # os.environ["NAME"]
        elif _is_membership_test(node) and _is_os_environ(node.comparators[0]):
            found(_name_in(node.left), node.comparators[0])  # "NAME" in os.environ

    unknown: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        is_env = django_environ and isinstance(node, ast.Name) and node.id == "env" and isinstance(node.ctx, ast.Load)
        is_os = _is_os_getenv(node) or (_is_os_environ(node) and isinstance(node.ctx, ast.Load))
        if (is_env or is_os) and id(node) not in understood:
            unknown.append((node.lineno, ast.unparse(node)))
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            unknown += [
                (node.lineno, f"from os import {a.name}") for a in node.names if a.name in {"environ", "getenv"}
            ]
    return names, [f"line {line}: {text}" for line, text in sorted(unknown)]


def _app_sources() -> dict[Path, bool]:
    """Each app source file, and whether django-environ's ``env`` is read in it (settings.py only)."""
    files = {path: False for package in APP_PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}
    files |= {ROOT / name: False for name in APP_FILES}
    files[SETTINGS] = True
    return files


def read_by_the_app() -> tuple[set[str], dict[str, list[str]]]:
    names: set[str] = set()
    unknown: dict[str, list[str]] = {}
    for path, django_environ in _app_sources().items():
        found, not_understood = environment_reads(path.read_text(encoding="utf-8"), django_environ=django_environ)
        names |= found
        if not_understood:
            unknown[str(path.relative_to(ROOT))] = not_understood
    return names, unknown


def documented() -> list[str]:
    """The variable names in the first column of docs/configuration.md's table, in order, repeats kept."""
    names: list[str] = []
    rows = [line.strip() for line in DOCS.read_text(encoding="utf-8").splitlines() if line.strip().startswith("|")]
    for row in rows[2:]:  # after the header and the |---| line
        first_cell = row.strip("|").split("|")[0]
        names += _VARIABLE.findall(first_cell)
    return names


def test_the_parser_understands_every_access_form():
    source = """
import os
env = environ.Env(SCHEMA_VAR=(bool, False))
a = env("PLAIN_CALL", default="x")
b = env.str("A_STR", default="")
c = env.bool("A_BOOL", default=True)
d = env.int("AN_INT", default=1)
e = env.float("A_FLOAT", default=1.0)
f = env.list("A_LIST", default=[])
g = env.path("A_PATH", default="/tmp")
h = env.db_url("A_DB_URL", default="sqlite://")
i = env.db("A_DB")
j = os.environ.get("OS_GET", "x")
k = os.environ["OS_ITEM"]
os.environ.setdefault("OS_SETDEFAULT", "x")
l = os.getenv("OS_GETENV")
m = "OS_IN" in os.environ
"""
    names, unknown = environment_reads(source, django_environ=True)
    assert names == {
        "SCHEMA_VAR",
        "PLAIN_CALL",
        "A_STR",
        "A_BOOL",
        "AN_INT",
        "A_FLOAT",
        "A_LIST",
        "A_PATH",
        "A_DB_URL",
        "A_DB",
        "OS_GET",
        "OS_ITEM",
        "OS_SETDEFAULT",
        "OS_GETENV",
        "OS_IN",
    }
    assert unknown == []


def test_the_parser_reports_accesses_it_cannot_name():
    source = "import os\nname = 'X'\na = env.str(name)\nb = dict(os.environ)\nfrom os import getenv\n"
    names, unknown = environment_reads(source, django_environ=True)
    assert names == set()
    assert unknown == ["line 3: env", "line 4: os.environ", "line 5: from os import getenv"]


def test_every_environment_access_in_the_app_names_its_variable():
    _, unknown = read_by_the_app()
    assert not unknown, f"Environment reads this test cannot name (use a literal name): {unknown}"


def test_documented_variables_are_exactly_those_the_app_reads():
    read, _ = read_by_the_app()
    assert "DJANGO_DEBUG" in read and "WEB_CONCURRENCY" in read  # the sources were found and parsed
    docs = set(documented())
    missing = sorted(read - docs)
    not_read = sorted(docs - read)
    assert not missing and not not_read, (
        f"docs/configuration.md is out of step with the code. Missing from the table: {missing or 'none'}. "
        f"Documented but not read by the app: {not_read or 'none'}."
    )


def test_each_variable_is_documented_once():
    repeated = sorted(name for name, count in Counter(documented()).items() if count > 1)
    assert not repeated, f"Documented more than once in docs/configuration.md: {repeated}"
