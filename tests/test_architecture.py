"""The package layout shows the architecture: no import cycles between modules (imports at
module level; an import inside a function is a deliberate late edge), and the model front
end imports no solver, terminal or graph library."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    p = ROOT / name.replace(".", "/")
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def import_graph() -> nx.DiGraph:
    g = nx.DiGraph()
    for top in ("model", "checker"):
        for path in sorted((ROOT / top).rglob("*.py")):
            mod = _module(path)
            pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
            g.add_node(mod)
            for node in ast.parse(path.read_text()).body:
                targets: list[str] = []
                if isinstance(node, ast.ImportFrom):
                    base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)] if node.level else []
                    src = ".".join(base + ([node.module] if node.module else []))
                    for a in node.names:  # `from . import x` imports the module x, not the package
                        targets.append(f"{src}.{a.name}" if _is_module(f"{src}.{a.name}") else src)
                elif isinstance(node, ast.Import):
                    targets = [a.name for a in node.names]
                for t in targets:
                    if t.split(".")[0] in ("model", "checker") and t != mod:
                        g.add_edge(mod, t)
    return g


def test_no_import_cycles() -> None:
    g = import_graph()
    assert "checker.search.driver" in g and g.number_of_edges() > 100
    assert list(nx.simple_cycles(g)) == []


def test_model_imports_no_engine_library() -> None:
    for path in (ROOT / "model").rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not names & {"z3", "rich", "networkx", "numpy", "checker"}, path
