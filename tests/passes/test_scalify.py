"""Scalify on the real examples and the recipe files users write (docs/scaled.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scalc.cli import main
from scalc.diagnostics import ScalcError
from scalc.dialects import scaled
from scalc.dialects.context import parse_module, print_module
from scalc.passes.recipes import BUILTIN, Recipe, resolve_recipe

REPO = Path(__file__).resolve().parents[2]
GPT = str(REPO / "examples" / "gpt.scl")


def test_fp8_gpt_has_e4m3_forward_e5m2_gradient_operands_and_rescales(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The acceptance command, run through the real CLI.
    assert main(["compile", GPT, "--recipe", "fp8", "--emit", "scaled"]) == 0
    text = capsys.readouterr().out
    module = parse_module(text)
    module.verify()
    assert print_module(module) == text
    forward = text.split("func.func @train_forward", 1)[1].split("func.func @train_backward", 1)[0]
    backward = text.split("func.func @train_backward", 1)[1].split("func.func @optimizer_step", 1)[0]
    assert "scaled.matmul" in forward and "f8E4M3FN" in forward and "f8E5M2" not in forward
    assert "(!scaled.tensor<?x?x128xf8E4M3FN>, !scaled.tensor<128x384xf8E4M3FN>)" in forward
    assert "f8E5M2" in backward and "scaled.rescale" in forward and "scaled.rescale" in backward


def test_every_matmul_of_the_fp8_gpt_reads_f8_operands() -> None:
    from scalc.driver import run_stages

    module = run_stages((REPO / "examples" / "gpt.scl").read_text(), GPT, "scaled", None, BUILTIN["fp8"]).compilation.scaled
    assert module is not None
    matmuls = [op for op in module.walk() if isinstance(op, scaled.MatmulOp)]
    assert len(matmuls) == 13 + 13 + 26  # @forward, @train_forward, @train_backward
    for op in matmuls:
        for operand in op.operands:
            assert str(operand.type.element_type).startswith("f8"), op


def test_fp8_min_k_keeps_small_matmuls_in_the_compute_format() -> None:
    """The small-K rule (docs/lowering.md): with ``fp8_min_k = 256`` the gpt's matmuls over
    K = D = 128 and K = DH = 32 keep bf16 operands, those over K = MLP = 512 and over a
    symbolic K (T, B*T: large) still read f8."""
    import dataclasses

    from scalc.driver import run_stages

    recipe = dataclasses.replace(BUILTIN["fp8"], name="fp8-k256", fp8_min_k=256)
    module = run_stages((REPO / "examples" / "gpt.scl").read_text(), GPT, "scaled", None, recipe).compilation.scaled
    assert module is not None
    seen = set()
    for op in module.walk():
        if not isinstance(op, scaled.MatmulOp):
            continue
        k = op.operands[0].type.get_shape()[-1]
        formats = {str(v.type.element_type) for v in op.operands}
        small = 0 <= k < 256  # a symbolic K is negative (DYNAMIC_INDEX)
        assert (formats == {"bf16"}) == small, (k, formats)
        seen.add((small, k))
    assert {(True, 128), (True, 32), (False, 512)} <= seen and any(k < 0 for _, k in seen)


def test_fp32_recipe_leaves_the_train_module_as_it_is() -> None:
    from scalc.driver import run_stages

    compiled = run_stages((REPO / "examples" / "mlp.scl").read_text(), "mlp.scl", "scaled").compilation
    assert compiled.scaled is not None and compiled.train is not None
    train = print_module(compiled.train)
    scaled_text = print_module(compiled.scaled)
    assert "scaled." not in scaled_text.replace("scalc.", "")
    assert scaled_text.replace(', scalc.recipe = {', ' SPLIT ').split(" SPLIT ")[0] in train


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_recipe_file_starts_from_a_builtin(tmp_path: Path) -> None:
    path = write(tmp_path, "r.toml", 'name = "fp8-m1"\nbased_on = "fp8"\nmargin = 1\n')
    assert resolve_recipe(str(path)) == Recipe(**{**BUILTIN["fp8"].to_dict(), "name": "fp8-m1", "margin": 1})
    json_path = write(tmp_path, "r.json", '{"based_on": "bf16", "optimizer_state": "bf16"}')
    assert resolve_recipe(str(json_path)).optimizer_state == "bf16"
    assert resolve_recipe(str(json_path)).name == "r"


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("a.toml", "margin = = 1\n", "not a valid recipe file"),
        ("b.toml", "marginn = 1\n", "unknown recipe field `marginn`"),
        ("c.toml", 'based_on = "fp4"\n', "`based_on` must be one of fp32, bf16, fp8, fp8-delayed"),
        ("d.toml", 'matmul_grad = "f8E4M3"\n', "`matmul_grad` must be one of"),
        ("e.toml", "history = 0\n", "`history` must be in 1..4096"),
        ("f.toml", 'margin = "1"\n', "`margin` must be an integer"),
        ("h.toml", "fp8_min_k = -1\n", "`fp8_min_k` must be in 0.."),
        ("i.toml", "fp8_min_k = 2.5\n", "`fp8_min_k` must be an integer"),
        ("g.json", "[1, 2]", "a recipe file holds a table of fields"),
    ],
)
def test_bad_recipe_files_are_clear_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(ScalcError, match=message):
        resolve_recipe(str(write(tmp_path, name, text)))


def test_unknown_recipe_name_lists_the_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", GPT, "--recipe", "fp4", "--emit", "scaled"]) == 1
    err = capsys.readouterr().err
    assert "unknown recipe `fp4`; use one of fp32, bf16, fp8, fp8-delayed" in err
    assert "Traceback" not in err


def test_missing_recipe_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", GPT, "--recipe", "nope.toml", "--emit", "scaled"]) == 1
    assert "nope.toml: no such recipe file" in capsys.readouterr().err
