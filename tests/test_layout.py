"""The package layering (docs/architecture.md): read every import with ast, check the flow.

The same rules as the project's layout checker: infra is a leaf (imports nothing of the project);
theory imports only infra; optimal and nets import theory and infra; analysis imports theory,
optimal and infra, never nets (it takes arrays); nothing imports verify; no cycles.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("infra", "theory", "optimal", "nets", "analysis", "verify")
ALLOWED = {
    "infra": set(),
    "theory": {"infra"},
    "optimal": {"infra", "theory"},
    "nets": {"infra", "theory"},
    "analysis": {"infra", "theory", "optimal"},
    "verify": {"infra", "theory", "optimal", "nets", "analysis"},
}


def project_imports(pkg: str) -> dict[str, list[str]]:
    """{imported top-level project package: [file:line, ...]} for every import in ``pkg``."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / pkg).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names} & set(PACKAGES) - {pkg}:
                found.setdefault(top, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_top_level_package_is_known_to_the_layering_rules():
    on_disk = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()} - {"tests", "benchmarks"}
    assert on_disk == set(PACKAGES)


@pytest.mark.parametrize("pkg", PACKAGES)
def test_package_imports_only_what_the_layering_allows(pkg):
    bad = {dep: where for dep, where in project_imports(pkg).items() if dep not in ALLOWED[pkg]}
    assert not bad, f"{pkg} imports against the flow: {bad}"


def test_the_rules_themselves_have_no_cycle():
    # A topological order exists exactly when the allowed-import graph is acyclic.
    order, todo = [], dict(ALLOWED)
    while todo:
        ready = [p for p, deps in todo.items() if deps <= set(order)]
        assert ready, f"cycle among {sorted(todo)}"
        order += ready
        for p in ready:
            del todo[p]
    assert order[0] == "infra" and order[-1] == "verify"
