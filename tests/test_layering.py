"""Data flows one way (DESIGN.md §2-3): each stage imports only earlier stages.

The IR (`scalc.dialects`) is the base every stage shares; the frontend builds it, passes
rewrite it, lowering turns it into kernels, the runtime executes artifacts. The driver and
the CLI sit on top. An import against that order is a design error this test names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package folder -> (its import name, packages it must never import)
LAYERS = {
    "dialects": ("scalc.dialects", ("scalc.frontend", "scalc.passes", "scalc.lowering", "scalc.runtime", "scalc.driver", "scalc.cli")),
    "scalc/frontend": ("scalc.frontend", ("scalc.passes", "scalc.lowering", "scalc.runtime", "scalc.driver", "scalc.cli")),
    "scalc/passes": ("scalc.passes", ("scalc.frontend", "scalc.lowering", "scalc.runtime", "scalc.driver", "scalc.cli")),
    "lowering": ("scalc.lowering", ("scalc.frontend", "scalc.runtime", "scalc.driver", "scalc.cli")),
    "runtime": ("scalc.runtime", ("scalc.frontend", "scalc.passes", "scalc.driver", "scalc.cli")),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def layer_files() -> list[tuple[str, Path]]:
    return [(folder, p) for folder in LAYERS for p in sorted((ROOT / folder).rglob("*.py"))]


@pytest.mark.parametrize("folder,path", layer_files(), ids=lambda v: str(v))
def test_module_imports_only_earlier_stages(folder: str, path: Path) -> None:
    _, forbidden = LAYERS[folder]
    bad = sorted(
        name for name in imported_modules(path) if any(name == f or name.startswith(f + ".") for f in forbidden)
    )
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}, against the pipeline order"


def test_layering_table_covers_every_stage_folder() -> None:
    assert layer_files(), "no stage modules found"
    for folder in LAYERS:
        assert (ROOT / folder / "__init__.py").exists(), folder
