"""Broken versions for the drill and the deploy tests: a patched COPY of a good bundle.

The repository is never touched. Each breakage finds its target by name or route in the
bundle's code (with `ast`, so formatting does not matter) and fails loudly when the target
is gone, rather than producing a "broken" version that is not broken.
"""

from __future__ import annotations

import ast
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

# The incident: `json.loads(file_object)` where `json.load` was meant. Today's create path
# reads no file, so the same slip is injected at the top of the service every create uses.
INCIDENT_SLIP = "import io, json; json.loads(io.StringIO('{}'))  # the incident's slip"


class PatchTargetMissing(RuntimeError):
    """The code a breakage patches is not in the bundle any more: update the breakage."""


def _functions(tree: ast.Module) -> list[ast.FunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]


def _routes(function: ast.FunctionDef) -> list[str]:
    """The path strings of a view function's route decorators."""
    paths = []
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and decorator.args:
            first = decorator.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                paths.append(first.value)
    return paths


def inject_first_line(source: str, matches: Callable[[ast.FunctionDef], bool], line: str) -> str:
    """Insert `line` as the first statement (after the docstring) of the one function that
    `matches`; raise PatchTargetMissing unless exactly one does."""
    tree = ast.parse(source)
    found = [f for f in _functions(tree) if matches(f)]
    if len(found) != 1:
        raise PatchTargetMissing(f"expected one matching function, found {len(found)}")
    body = found[0].body
    first = body[0]
    has_docstring = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    anchor = body[1] if has_docstring and len(body) > 1 else first
    lines = source.splitlines(keepends=True)
    if has_docstring and len(body) == 1:
        index, indent = first.end_lineno or first.lineno, first.col_offset
    else:
        index, indent = anchor.lineno - 1, anchor.col_offset
    lines.insert(index, " " * indent + line + "\n")
    return "".join(lines)


def _named(name: str) -> Callable[[ast.FunctionDef], bool]:
    return lambda f: f.name == name


def _routed(path: str) -> Callable[[ast.FunctionDef], bool]:
    return lambda f: path in _routes(f)


def _patch_function(
    files: dict[str, bytes], matches: Callable[[ast.FunctionDef], bool], line: str, what: str
) -> None:
    """Patch the one function in shortener/**.py that `matches`."""
    hits = []
    for path, data in files.items():
        if path.startswith("shortener/") and path.endswith(".py"):
            source = data.decode()
            if any(matches(f) for f in _functions(ast.parse(source))):
                hits.append((path, source))
    if len(hits) != 1:
        raise PatchTargetMissing(f"{what}: expected one module defining it, found {len(hits)}")
    path, source = hits[0]
    files[path] = inject_first_line(source, matches, line).encode()


def break_create(files: dict[str, bytes]) -> None:
    """(c) and the drill: every create (form and API) fails with a 500, as in the incident."""
    _patch_function(files, _named("create_link"), INCIDENT_SLIP, "the create service")


def break_redirects(files: dict[str, bytes]) -> None:
    """(d) following a short link fails with a 500."""
    line = "raise RuntimeError('broken on purpose: redirects')"
    _patch_function(files, _routed("/<code:code>"), line, "the redirect view")


def break_readiness(files: dict[str, bytes]) -> None:
    """(b) /readyz never answers 200."""
    line = "return {'status': 'unavailable', 'reasons': ['broken on purpose']}, 503"
    _patch_function(files, _routed("/readyz"), line, "the readiness view")


def break_import(files: dict[str, bytes]) -> None:
    """(a) the app cannot even be imported: the web process dies at start."""
    if "application.py" not in files:
        raise PatchTargetMissing("application.py is not in the bundle")
    files["application.py"] += b"\nimport shortener_module_that_does_not_exist  # noqa\n"


def break_home_page(files: dict[str, bytes]) -> None:
    """(e) ready, but the home page (the shorten form) fails: only the smoke suite sees it."""
    line = "raise RuntimeError('broken on purpose: home page')"
    _patch_function(files, _routed("/"), line, "the home page view")


def break_behind_proxy(files: dict[str, bytes]) -> None:
    """Fine when asked directly, broken behind nginx (it fails requests carrying nginx's
    X-Request-ID): only the smoke suite run through nginx after the switch catches it."""
    line = (
        "from flask import abort, request; "
        "request.headers.get('X-Request-ID') and abort(500)  # broken on purpose"
    )
    _patch_function(files, _routed("/"), line, "the home page view")


def break_migrations(files: dict[str, bytes]) -> None:
    """`flask db upgrade` fails: the deploy stops before any instance of it starts."""
    line = "raise RuntimeError('broken on purpose: migrations')"
    _patch_function(files, _named("run_migrations_online"), line, "the migration runner")


BREAKAGES: dict[str, Callable[[dict[str, bytes]], None]] = {
    "import-error": break_import,
    "never-ready": break_readiness,
    "create-500": break_create,
    "redirect-500": break_redirects,
    "smoke-fails": break_home_page,
    "proxy-only": break_behind_proxy,
    "migration-fails": break_migrations,
}


def broken_copy(bundle: Path, breakage: str | None, label: str, dest_dir: Path) -> Path:
    """Write `dest_dir/shortener-<label>.zip`: `bundle` with `breakage` applied (None: a
    good copy) and build-info.json's version set to `label`. `bundle` is left as it is."""
    with zipfile.ZipFile(bundle) as source:
        entries = source.infolist()
        files = {info.filename: source.read(info) for info in entries}
    if breakage is not None:
        BREAKAGES[breakage](files)
    info = json.loads(files["build-info.json"])
    info["version"] = label
    if breakage is not None:
        info["broken_on_purpose"] = breakage
    files["build-info.json"] = (json.dumps(info, indent=2) + "\n").encode()
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"shortener-{label}.zip"
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in entries:
            out.writestr(entry, files[entry.filename])
    return dest
