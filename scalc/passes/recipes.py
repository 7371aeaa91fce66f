"""Precision recipes: data that the scalify pass reads (docs/scaled.md, DESIGN.md §5).

A recipe says which format each kind of value is stored in, how FP8 casts choose their
scales and where dynamic rescales go. The built-ins are ``fp32`` (the reference),
``bf16``, ``fp8`` and ``fp8-delayed``; a user recipe is a TOML or JSON file naming a
built-in to start from and the fields it changes::

    name = "fp8-margin1"
    based_on = "fp8"
    margin = 1
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from scalc.diagnostics import ScalcError

FORMATS = ("f32", "bf16", "f16", "f8E4M3FN", "f8E5M2")
_CHOICES: dict[str, tuple[str, ...]] = {
    "compute": ("f32", "bf16", "f16"),
    "matmul_forward": FORMATS,
    "matmul_grad": FORMATS,
    "scaling": ("dynamic", "delayed"),
    "rescale": ("none", "residual"),
    "optimizer_state": ("f32", "bf16", "f16"),
    "optimizer_precision": ("fp32", "fp32-master", "bf16", "collage-light", "collage-plus"),
}


@dataclass(frozen=True)
class Recipe:
    """How a model is trained in low precision (each field: docs/scaled.md)."""

    name: str
    compute: str = "f32"
    matmul_forward: str = "f32"
    matmul_grad: str = "f32"
    scaling: str = "dynamic"
    history: int = 16
    margin: int = 0
    rescale: str = "none"
    optimizer_state: str = "f32"
    optimizer_precision: str = "fp32"
    fp8_min_k: int = 0
    """A matmul whose static contraction size K is below this keeps its operands in the
    compute format instead of f8 (too little work per operand byte for FP8 to pay for
    its casts). Symbolic sizes (B*T) count as large. 0: every matmul uses the recipe's
    matmul formats."""

    @property
    def is_reference(self) -> bool:
        """Nothing to scale: the train module runs as it is (the fp32 recipe)."""
        formats = (self.compute, self.matmul_forward, self.matmul_grad, self.optimizer_state)
        return formats == ("f32",) * 4 and self.rescale == "none"

    def validate(self) -> Recipe:
        for key, choices in _CHOICES.items():
            value = getattr(self, key)
            if value not in choices:
                raise ScalcError(
                    f"recipe `{self.name}`: `{key}` must be one of {', '.join(choices)}, got `{value}`"
                )
        if not 1 <= self.history <= 4096:
            raise ScalcError(f"recipe `{self.name}`: `history` must be in 1..4096, got {self.history}")
        if self.optimizer_precision != "fp32" and self.optimizer_state != "f32":
            raise ScalcError(
                f"recipe `{self.name}`: `optimizer_state` applies to optimizer_precision fp32; "
                f"`{self.optimizer_precision}` decides the state's types itself"
            )
        if not 0 <= self.fp8_min_k <= 1 << 20:
            raise ScalcError(
                f"recipe `{self.name}`: `fp8_min_k` must be in 0..{1 << 20}, got {self.fp8_min_k}"
            )
        if not 0 <= self.margin <= 8:
            raise ScalcError(f"recipe `{self.name}`: `margin` must be in 0..8, got {self.margin}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


BUILTIN: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("fp32"),
        Recipe("bf16", compute="bf16", matmul_forward="bf16", matmul_grad="bf16", rescale="residual"),
        Recipe(
            "fp8",
            compute="bf16",
            matmul_forward="f8E4M3FN",
            matmul_grad="f8E5M2",
            rescale="residual",
        ),
        Recipe(
            "fp8-delayed",
            compute="bf16",
            matmul_forward="f8E4M3FN",
            matmul_grad="f8E5M2",
            scaling="delayed",
            rescale="residual",
        ),
    )
}
RECIPE_NAMES = tuple(BUILTIN)


def resolve_recipe(recipe: str | Path | Recipe) -> Recipe:
    """A built-in name, a path to a ``.toml``/``.json`` recipe file, or a `Recipe`."""
    if isinstance(recipe, Recipe):
        return recipe.validate()
    text = str(recipe)
    if text in BUILTIN:
        return BUILTIN[text]
    if text.endswith((".toml", ".json")) or Path(text).is_file():
        return load_recipe_file(Path(text))
    raise ScalcError(
        f"unknown recipe `{text}`; use one of {', '.join(RECIPE_NAMES)} or a .toml/.json file"
    )


def load_recipe_file(path: Path) -> Recipe:
    """Read a user recipe: a ``name``, optionally ``based_on`` a built-in, and fields."""
    try:
        raw = path.read_text(encoding="utf-8")
        data = tomllib.loads(raw) if path.suffix == ".toml" else json.loads(raw)
    except FileNotFoundError:
        raise ScalcError(f"{path}: no such recipe file") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ScalcError(f"{path}: not a valid recipe file: {err}") from None
    if not isinstance(data, dict):
        raise ScalcError(f"{path}: a recipe file holds a table of fields")
    base_name = data.pop("based_on", "fp32")
    if base_name not in BUILTIN:
        raise ScalcError(f"{path}: `based_on` must be one of {', '.join(RECIPE_NAMES)}, got `{base_name}`")
    known = {f.name: f.type for f in fields(Recipe)}
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise ScalcError(f"{path}: unknown recipe field `{unknown[0]}`; known: {', '.join(sorted(known))}")
    if not isinstance(data.get("name", path.stem), str):
        raise ScalcError(f"{path}: `name` must be a string")
    for key in ("history", "margin", "fp8_min_k"):
        if key in data and (not isinstance(data[key], int) or isinstance(data[key], bool)):
            raise ScalcError(f"{path}: `{key}` must be an integer")
    for key in _CHOICES:
        if key in data and not isinstance(data[key], str):
            raise ScalcError(f"{path}: `{key}` must be a string")
    data.setdefault("name", path.stem)
    return replace(BUILTIN[base_name], **data).validate()
