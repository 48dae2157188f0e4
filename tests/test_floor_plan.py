"""The floor plan holds: every app has the same rooms, and the doors open one way.

README "Layout" describes it; these checks keep the tree and the description together, so
a newcomer finds a page in `<app>/views/`, an API in `<app>/apis/`, a write in
`<app>/services/`, and no module grows into a second app.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "patrols", "reports", "liaison")
# Who may import whom (README "Layout"): reports -> patrols -> liaison -> core.
MAY_IMPORT = {
    "core": {"core"},
    "liaison": {"liaison", "core"},
    "patrols": {"patrols", "liaison", "core"},
    "reports": {"reports", "patrols", "liaison", "core"},
}
# A page, API or service module past this many lines is two rooms: split it.
MAX_LINES = 400
LAYERS = ("views", "apis", "services", "tablet")


def _sources(app):
    for path in sorted((ROOT / app).rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "migrations" in parts or "tests" in parts:
            continue
        yield path


def _imports(tree):
    """Every module named by an import, with whether the import sits inside a function."""
    found = []

    def visit(node, nested):
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, inner, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.append((child.module, inner, child.lineno))
                found.extend(
                    (f"{child.module}.{alias.name}", inner, child.lineno) for alias in child.names
                )
            visit(child, inner)

    visit(tree, False)
    return found


@pytest.mark.parametrize("app", APPS)
def test_imports_point_down_the_dependency_order(app):
    upward = []
    for path in _sources(app):
        for module, _nested, line in _imports(ast.parse(path.read_text())):
            top = module.split(".")[0]
            if top in APPS and top not in MAY_IMPORT[app]:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert upward == []


@pytest.mark.parametrize("app", APPS)
def test_no_service_imports_a_task_module(app):
    """Tasks import services; services send tasks by name (core.queue.enqueue_on_commit)."""
    found = []
    for path in _sources(app):
        rel = path.relative_to(ROOT)
        if "services" not in rel.parts and rel.stem != "services":
            continue
        for module, _nested, line in _imports(ast.parse(path.read_text())):
            if module.split(".")[-1] == "tasks" or ".tasks." in f"{module}.":
                found.append(f"{rel}:{line} imports {module}")
    assert found == []


@pytest.mark.parametrize("app", APPS)
def test_services_and_tasks_import_each_other_at_the_top_only(app):
    """A function-level import between services and tasks was a cycle patched over; the
    order is by design now (tasks above services), so every such import is at module top."""
    found = []
    for path in _sources(app):
        rel = path.relative_to(ROOT)
        if "services" not in rel.parts and rel.stem not in ("services", "tasks"):
            continue
        for module, nested, line in _imports(ast.parse(path.read_text())):
            if nested and module.split(".")[0] in APPS:
                found.append(f"{rel}:{line} imports {module}")
    assert found == []


@pytest.mark.parametrize("app", APPS)
def test_no_page_api_or_service_module_is_two_rooms(app):
    long = []
    for path in _sources(app):
        rel = path.relative_to(ROOT)
        if not any(part.removesuffix(".py") in LAYERS for part in rel.parts):
            continue
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            long.append(f"{rel}: {lines} lines")
    assert long == []


URL_PACKAGES = ("patrols", "reports", "reports/summaries", "liaison")


@pytest.mark.parametrize("package", URL_PACKAGES)
def test_pages_are_in_urls_and_the_api_in_api_urls(package):
    folder = ROOT / package
    assert sorted(p.name for p in folder.glob("*urls.py")) == ["api_urls.py", "urls.py"]

    def layers(name):
        modules = [m for m, _, _ in _imports(ast.parse((folder / name).read_text()))]
        return {layer for m in modules for layer in ("views", "apis") if layer in m.split(".")}

    assert layers("urls.py") == {"views"}
    assert layers("api_urls.py") == {"apis"}


def test_the_readme_layout_names_every_app_module_package():
    """Every package inside an app is in the README's layout table."""
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    missing = []
    for app in APPS:
        for init in sorted((ROOT / app).rglob("__init__.py")):
            package = init.parent.relative_to(ROOT).as_posix()
            parts = package.split("/")
            if "tests" in parts or "migrations" in parts or "management" in parts:
                continue
            if package != app and f"`{package}/`" not in layout:
                missing.append(package)
    assert missing == []
