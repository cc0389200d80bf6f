"""The shape of the codebase (CONVENTIONS.md, "The house"), checked by reading the source.

Dependencies point one way: accounts <- notifications <- cms <- search <- analytics <- demo,
and the project package (enablement) wires them all but the demo app (which production does
not install).
An import against that direction fails here, whether it sits at the top of a module or inside
a function. A function-local import of project code needs a comment above it saying why.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each app may import the apps listed before it (and itself), never those after it.
LAYERS = ("accounts", "notifications", "cms", "search", "analytics", "demo")
PROJECT = "enablement"
APPS = (*LAYERS, PROJECT)
# (importing module, imported module) pairs allowed against the direction, each with its
# reason. Keep this empty: an entry is a debt with a date.
# (importer, imported) -> why an import against the direction is accepted for now. Empty: keep
# it so; an entry that is no longer needed fails the test.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}
# jinja2.py configures the second template engine (the live search results), like settings.py
PROJECT_FILES = {
    "__init__.py",
    "api.py",
    "converters.py",  # URL wiring: the <id:…> path converter
    "env.py",
    "jinja2.py",
    "log_filters.py",  # logging wiring: the filters settings.LOGGING names
    "staticfiles.py",  # settings wiring: the finder of what collectstatic gathers
    "health.py",  # process wiring: the health check the container runtime asks (/healthz/)
    "settings.py",
    "urls.py",
    "wsgi.py",
}


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path):
    """(imported module, line, inside a function, the node) for every import of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, in_function, child
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    yield (full if full in MODULES else base), child.lineno, in_function, child
            yield from visit(child, inside)

    yield from visit(tree, False)


def _app(module: str) -> str:
    return module.split(".")[0]


def _allowed(importer: str, imported: str) -> bool:
    source, target = _app(importer), _app(imported)
    if target not in APPS or source == target:
        return True
    if source == PROJECT:
        return target != "demo"
    if target == PROJECT:
        return False
    return LAYERS.index(target) < LAYERS.index(source)


def test_apps_import_only_downward():
    wrong, used_exceptions = [], set()
    for module, path in MODULES.items():
        for imported, line, _, _ in _imports(module, path):
            if _allowed(module, imported):
                continue
            key = (module, imported)
            if key in KNOWN_EXCEPTIONS:
                used_exceptions.add(key)
                continue
            wrong.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not wrong, "imports against the direction accounts <- cms <- search <- analytics:\n" + (
        "\n".join(wrong)
    )
    stale = set(KNOWN_EXCEPTIONS) - used_exceptions
    assert not stale, "no longer needed, remove from KNOWN_EXCEPTIONS: " + repr(sorted(stale))


def test_the_direction_check_sees_an_upward_import_inside_a_function(tmp_path):
    """The check itself: a cms module importing analytics in a function body is caught."""
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from analytics.models import Deal\n    return Deal\n")
    found = [(imported, inside) for imported, _, inside, _ in _imports("cms.probe", source)]
    assert found == [("analytics.models", True)]
    assert not _allowed("cms.probe", "analytics.models")
    assert _allowed("analytics.views", "cms.models") and not _allowed("enablement.urls", "demo")


def _has_reason(lines: list[str], node) -> bool:
    """A comment (not a linter pragma) on the lines just above ``node`` or above the run of
    imports it belongs to."""
    index = node.lineno - 2
    while index >= 0:
        text = lines[index].strip()
        if text.startswith(("from ", "import ")) or text.endswith((",", "(")) or text == ")":
            index -= 1
            continue
        return text.startswith("#") and not text.startswith("# noqa")
    return False


def test_function_local_imports_of_project_code_say_why():
    unexplained = []
    for module, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for imported, line, inside, node in _imports(module, path):
            if inside and _app(imported) in APPS and not _has_reason(lines, node):
                unexplained.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not unexplained, "function-local imports without a comment saying why:\n" + (
        "\n".join(unexplained)
    )


def test_no_import_cycles_between_modules():
    """At module level (what runs when Python loads them) no project modules import each
    other in a circle."""
    edges = {module: set() for module in MODULES}
    for module, path in MODULES.items():
        for imported, _, inside, _ in _imports(module, path):
            if not inside and imported in MODULES and imported != module:
                edges[module].add(imported)
    cycles = _cycles(edges)
    assert not cycles, f"import cycles: {cycles}"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, groups, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in edges:
        if node not in index:
            visit(node)
    return groups


def test_the_project_package_only_wires():
    files = {path.name for path in (ROOT / PROJECT).glob("*.py")}
    assert files <= PROJECT_FILES, f"domain code in the project package: {files - PROJECT_FILES}"


def test_product_code_imports_no_module_by_name():
    """Every module the product needs always exists: none is loaded through importlib as if
    it might be missing."""
    named = [
        str(path.relative_to(ROOT))
        for path in MODULES.values()
        if "importlib" in path.read_text(encoding="utf-8")
    ]
    assert not named
