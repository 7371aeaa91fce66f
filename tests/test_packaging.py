"""The one-namespace packaging of DESIGN.md §3 stays complete as folders are added."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed_in_pyproject() -> None:
    mapping: dict[str, str] = CONFIG["package-dir"]
    listed = set(CONFIG["packages"])
    found = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]) if rel.parts else package)
    missing = sorted(found - listed)
    assert not missing, f"add these packages to pyproject.toml [tool.setuptools] packages: {missing}"


def test_listed_packages_import_under_the_scalc_namespace() -> None:
    for package in CONFIG["packages"]:
        module = importlib.import_module(package)
        assert module.__name__ == package


def test_grammar_ships_as_package_data() -> None:
    assert "*.lark" in CONFIG["package-data"]["scalc.frontend"]
    assert (ROOT / "scalc" / "frontend" / "scl.lark").exists()


def test_the_gpu_extra_pins_the_torch_and_triton_the_tests_use() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = {r for r in extras["test"] if r.startswith(("torch", "triton"))}
    assert set(extras["gpu"]) == pins and all("==" in r for r in pins), extras["gpu"]
