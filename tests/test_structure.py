"""The code's layout: no import cycle in emotion_core, every views/ file a listed page, no patched internals."""

import ast
from collections import defaultdict
from pathlib import Path

from ui.common import PAGES

PROJECT = Path(__file__).resolve().parents[1]


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at the top or inside functions alike."""
    modules = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph = defaultdict(set)
    for name, path in modules.items():
        package_name = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                parts = package_name.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1]) if node.level else ""
                target = ".".join(p for p in (base, node.module or "") if p)
                # `from . import registry` imports the submodule, not the package's own code
                submodules = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in modules]
                graph[name].update(m for m in submodules or [target] if m in modules and m != name)
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules and a.name != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state, path = {}, []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = "done"
        return []

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return []


def test_emotion_core_has_no_import_cycle():
    graph = import_graph(PROJECT / "emotion_core")
    assert "emotion_core.cli" in graph and graph["emotion_core.cli"]  # the graph was read
    assert find_cycle(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_every_file_in_the_views_folder_is_a_listed_page():
    listed = {PROJECT / page.path for page in PAGES}
    assert listed == set((PROJECT / "views").glob("*.py"))
    assert len({page.title for page in PAGES}) == len(PAGES)


def test_no_streamlit_internal_is_patched():
    sources = [path.read_text() for path in [PROJECT / "app.py", *PROJECT.glob("ui/*.py"), *PROJECT.glob("views/*.py")]]
    assert not any("streamlit.runtime" in source for source in sources)
