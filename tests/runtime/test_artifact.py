"""The ``.sclc`` artifact (DESIGN.md §6): round trips, and every kind of damage refused
with a message that names the file and what is wrong."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import scalc
from scalc.runtime import ArtifactError, Program
from scalc.runtime.artifact import FORMAT_VERSION, sha256_of

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "examples" / "mlp.scl"
FORMS = ["mlp.sclc", "mlp.sclc.zip"]


@pytest.fixture(scope="module")
def program() -> Program:
    return scalc.compile(MLP)


def files_of(path: Path) -> dict[str, bytes]:
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def saved_copy(program: Program, tmp_path: Path, edit: Callable[[Path], None], form: str) -> Path:
    """Save as a directory, ``edit`` it, then pack it as ``form`` (a zip of the folder)."""
    folder = tmp_path / "mlp.sclc"
    program.save(folder)
    edit(folder)
    if not form.endswith(".zip"):
        return folder
    target = tmp_path / form
    with zipfile.ZipFile(target, "w") as archive:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            # as `zip -r mlp.sclc.zip mlp.sclc`
            archive.write(file, f"mlp.sclc/{file.relative_to(folder).as_posix()}")
    return target


def edit_manifest(folder: Path, change: Callable[[dict], None]) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("form", FORMS)
def test_artifact_round_trips_with_identical_texts_and_results(
    program: Program, tmp_path: Path, form: str
) -> None:
    program.save(tmp_path / form)
    loaded = scalc.load(tmp_path / form)
    assert loaded.manifest == program.manifest
    assert loaded.text("train.mlir") == program.text("train.mlir")
    assert loaded.text("nn.mlir") == program.text("nn.mlir")
    x = np.random.default_rng(0).random((5, 64), dtype=np.float32)
    expected = program.session(seed=3).forward(x=x).logits
    np.testing.assert_array_equal(loaded.session(seed=3).forward(x=x).logits, expected)


@pytest.mark.parametrize("form", FORMS)
def test_artifact_holds_the_manifest_mlir_texts_and_triton_modules(
    program: Program, tmp_path: Path, form: str
) -> None:
    program.save(tmp_path / form)
    files = files_of(tmp_path / form)
    kernels = sorted(name for name in files if name.startswith("triton/"))
    assert sorted(set(files) - set(kernels)) == ["manifest.json", "nn.mlir", "scaled.mlir", "train.mlir"]
    manifest = json.loads(files["manifest.json"])
    for name in ("scaled.mlir", "train.mlir", "nn.mlir", *kernels):
        assert manifest["files"][name] == sha256_of(files[name].decode())
    for name in ("scaled.mlir", "train.mlir", "nn.mlir"):
        assert files[name].decode().startswith("builtin.module")
    # One generated module per kernel group that is not a host group, each listed.
    assert sorted(k["file"] for k in manifest["kernels"]) == kernels
    assert kernels and all(name.endswith(".py") for name in kernels)
    assert all(b"@triton.jit" in files[name] and b"def launch(" in files[name] for name in kernels)
    loaded = scalc.load(tmp_path / form)
    assert loaded.kernel_texts() == program.kernel_texts()


def test_a_manifest_kernel_naming_an_unlisted_file_is_refused(program: Program, tmp_path: Path) -> None:
    folder = tmp_path / "mlp.sclc"
    program.save(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["kernels"][0]["file"] = "triton/forward/nothing.py"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="nothing.py, which the artifact does not list"):
        scalc.load(folder)


def test_manifest_describes_the_train_module(program: Program) -> None:
    m = program.manifest
    assert (m["format"], m["format_version"], m["recipe"]) == ("scalc-artifact", 1, "fp32")
    assert m["scalc_version"] == scalc.__version__
    assert m["model"] == "mlp" and m["symbols"] == ["B"]
    assert m["inputs"] == [
        {"name": "x", "dtype": "f32", "dims": ["B", 64]},
        {"name": "y", "dtype": "i32", "dims": ["B"]},
    ]
    assert m["outputs"] == [{"name": "logits", "dtype": "f32", "dims": ["B", 10]}]
    assert m["params"][0] == {
        "name": "w1",
        "dtype": "f32",
        "shape": [64, 256],
        "init": {
            "kind": "normal",
            "std": pytest.approx(0.125 * 2**0.5),
            "mean": None,
            "value": None,
        },
    }
    assert [s["name"] for s in m["state"]][:3] == ["step", "w1.m", "w1.v"]
    assert m["state"][1]["param"] == "w1" and m["state"][0]["param"] is None
    assert m["optimizer"]["kind"] == "adamw" and m["optimizer"]["lr"] == 1e-3
    assert [e["name"] for e in m["entry_points"]] == [
        "forward",
        "loss",
        "train_forward",
        "train_backward",
        "optimizer_step",
    ]
    assert {k["entry"] for k in m["kernels"]} == {"forward", "train_forward", "train_backward", "optimizer_step"}
    assert all(set(k) == {"entry", "name", "kind", "file", "inputs", "outputs"} for k in m["kernels"])


def test_zip_artifact_bytes_depend_only_on_content(program: Program, tmp_path: Path) -> None:
    program.save(tmp_path / "a.zip")
    program.save(tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def flip_byte(folder: Path) -> None:
    data = bytearray((folder / "train.mlir").read_bytes())
    data[len(data) // 2] ^= 0x01
    (folder / "train.mlir").write_bytes(bytes(data))


def edit_kernel(folder: Path) -> None:
    """Change one generated Triton module: it would run on the GPU, so it is checked too."""
    kernel = sorted((folder / "triton" / "forward").iterdir())[0]
    kernel.write_text(kernel.read_text().replace("tl.store(", "tl.store(  ", 1) + "\n")


def truncate_manifest(folder: Path) -> None:
    text = (folder / "manifest.json").read_text()
    (folder / "manifest.json").write_text(text[: len(text) // 2])


def replace_train_text(text: str) -> Callable[[Path], None]:
    """Swap in another train.mlir and fix its hash, as a careful forger would."""

    def edit(folder: Path) -> None:
        (folder / "train.mlir").write_text(text)
        edit_manifest(folder, lambda m: m["files"].update({"train.mlir": sha256_of(text)}))

    return edit


BAD_IR = 'builtin.module {\n  nn.param @w : tensor<4xf32> {init = "uniform"}\n}\n'
TAMPERING: list[tuple[str, Callable[[Path], None], str]] = [
    ("edited byte", flip_byte, "train.mlir does not match its sha256 in manifest.json"),
    ("edited kernel", edit_kernel, ".py does not match its sha256 in manifest.json"),
    (
        "deleted file",
        lambda f: (f / "nn.mlir").unlink(),
        "nn.mlir is missing (listed in manifest.json)",
    ),
    ("added file", lambda f: (f / "notes.txt").write_text("hi"), "unexpected file notes.txt"),
    ("truncated manifest", truncate_manifest, "manifest.json is not valid JSON (truncated"),
    ("no manifest", lambda f: (f / "manifest.json").unlink(), "manifest.json is missing"),
    (
        "newer format",
        lambda f: edit_manifest(f, lambda m: m.update(format_version=FORMAT_VERSION + 1)),
        (
            f"(artifact format {FORMAT_VERSION + 1}); this is scalc {scalc.__version__}, which "
            f"reads format {FORMAT_VERSION}: upgrade scalc"
        ),
    ),
    (
        "edited manifest",
        lambda f: edit_manifest(f, lambda m: m["optimizer"].update(lr=0.5)),
        "manifest.json disagrees with scaled.mlir about `optimizer`",
    ),
    (
        "other format",
        lambda f: edit_manifest(f, lambda m: m.update(format="onnx")),
        "manifest.json is not a scalc artifact manifest (format 'onnx')",
    ),
    (
        "unparsable IR",
        replace_train_text("builtin.module {"),
        "train.mlir does not parse as scalc IR",
    ),
    ("invalid IR", replace_train_text(BAD_IR), "train.mlir is not valid scalc IR: nn.param"),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("edit,message", [t[1:] for t in TAMPERING], ids=[t[0] for t in TAMPERING])
def test_damaged_artifact_is_refused_with_a_clear_message(
    program: Program, tmp_path: Path, form: str, edit: Callable[[Path], None], message: str
) -> None:
    path = saved_copy(program, tmp_path, edit, form)
    with pytest.raises(ArtifactError) as info:
        scalc.load(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_truncated_zip_is_refused(program: Program, tmp_path: Path) -> None:
    program.save(tmp_path / "mlp.zip")
    data = (tmp_path / "mlp.zip").read_bytes()
    (tmp_path / "mlp.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="truncated or corrupted"):
        scalc.load(tmp_path / "mlp.zip")


def test_missing_artifact_is_a_scalc_error(tmp_path: Path) -> None:
    with pytest.raises(scalc.ScalcError, match="no such artifact"):
        scalc.load(tmp_path / "nothing.sclc")


def test_save_replaces_an_artifact_atomically_and_leaves_no_temporaries(
    program: Program, tmp_path: Path
) -> None:
    target = tmp_path / "mlp.sclc"
    program.save(target)
    sgd = scalc.compile(MLP, optimizer="sgd", lr=0.1)
    sgd.save(target)
    assert scalc.load(target).manifest["optimizer"]["kind"] == "sgd"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.sclc"]


@pytest.mark.parametrize("form", FORMS)
def test_save_refuses_to_overwrite_what_is_not_an_artifact(
    program: Program, tmp_path: Path, form: str
) -> None:
    target = tmp_path / form
    if form.endswith(".zip"):
        target.write_text("my notes")
    else:
        target.mkdir()
        (target / "thesis.tex").write_text("precious")
    with pytest.raises(ArtifactError, match="refusing to overwrite"):
        program.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [form]


def test_save_into_a_missing_directory_is_a_scalc_error(program: Program, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        program.save(tmp_path / "no" / "mlp.sclc")


def forge_kernel(folder: Path) -> None:
    """Edit a generated Triton module and rewrite its hash, as a careful forger would: the
    manifest's hashes are integrity, not authenticity."""
    kernel = sorted((folder / "triton" / "forward").iterdir())[0]
    text = kernel.read_text() + "\nimport os  # code scalc did not write\n"
    kernel.write_text(text)
    name = kernel.relative_to(folder).as_posix()
    edit_manifest(folder, lambda m: m["files"].update({name: sha256_of(text)}))


def test_an_artifact_whose_kernel_scalc_did_not_write_is_refused(
    program: Program, tmp_path: Path
) -> None:
    """The artifact loads (its IR is intact), but its kernels are regenerated from the IR and
    must equal the ones it carries before any of them is imported (docs/runtime.md)."""
    folder = saved_copy(program, tmp_path, forge_kernel, "mlp.sclc")
    loaded = scalc.load(folder)
    with pytest.raises(ArtifactError, match=r"kernel k\d+_\w+ of @forward is not the code scalc "
                       r"generates from the artifact's IR"):
        loaded.kernels()  # fmt: skip
    with pytest.raises(ArtifactError, match="scalc runs only code it generates itself"):
        loaded.session(backend="triton-interpret")  # refused before Triton is even imported


def test_an_intact_artifact_runs_the_kernels_scalc_generates(program: Program, tmp_path: Path) -> None:
    program.save(tmp_path / "mlp.sclc")
    loaded = scalc.load(tmp_path / "mlp.sclc")
    made = loaded.kernels()
    assert made.error is None
    assert {k: s.source for k, s in made.sources.items()} == loaded.kernel_texts()
