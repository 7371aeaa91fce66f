"""The ``scalc`` command line.

    scalc check FILE                       parse and type-check; exit 0 when clean
    scalc compile FILE [--emit STAGE] [-o OUT]

Exit status: 0 success, 1 a mistake in the user's program or files (one diagnostic per
mistake on stderr, never a traceback), 2 bad command-line usage, 3 an internal compiler
error (a bug in scalc; the message says how to report it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from scalc import __version__
from scalc.diagnostics import ScalcError
from scalc.api import RECIPES
from scalc.driver import EMIT_CHOICES, InternalError, decode_source, read_source, run_stages
from scalc.passes.optimizer import OPTIMIZERS, OptimizerConfig
from scalc.passes.recipes import resolve_recipe

EXIT_OK, EXIT_USER_ERROR, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _source_of(path: str) -> tuple[str, str]:
    if path == "-":
        # Bytes, decoded as files are: a wrong encoding is an error, not mojibake.
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:  # replaced by a text stream (tests, embedding)
            return sys.stdin.read(), "<stdin>"
        return decode_source(stdin.read(), "<stdin>"), "<stdin>"
    return read_source(path), path


def _cmd_check(args: argparse.Namespace) -> int:
    source, name = _source_of(args.file)
    result = run_stages(source, name, emit="nn")
    info = result.compilation.info
    assert info is not None
    print(
        f"{name}: ok: model `{info.model}`, {len(info.inputs)} inputs, "
        f"{len(info.params)} parameters, {len(info.outputs)} output(s)"
        + (", a loss" if info.loss is not None else ", no loss"),
        file=sys.stderr if args.quiet else sys.stdout,
    )
    return EXIT_OK


def _cmd_compile(args: argparse.Namespace) -> int:
    source, name = _source_of(args.file)
    optimizer = _optimizer_config(args)
    if args.emit is None and args.output is not None and _is_artifact_path(args.output):
        from scalc.api import compile_program

        program = compile_program(source, name, args.recipe, optimizer)
        program.save(args.output)
        print(f"wrote {args.output}: model `{program.model}`, recipe {args.recipe}", file=sys.stderr)
        return EXIT_OK
    recipe = resolve_recipe(args.recipe)
    text = run_stages(source, name, args.emit or "nn", optimizer, recipe).show()
    if args.output is None or args.output == "-":
        sys.stdout.write(text)
    else:
        write_atomically(Path(args.output), text)
    return EXIT_OK


def _cmd_memory(args: argparse.Namespace) -> int:
    from scalc.api import compile_program

    source, name = _source_of(args.file)
    program = compile_program(source, name, args.recipe, _optimizer_config(args))
    counted = program.session(backend="reference", seed=0).state_bytes()
    n = int(counted["params"])
    print(
        f"{name}: {counted['per_param']:.2f} bytes/param of persistent training state "
        f"(weights {counted['weights'] / n:.2f} + optimizer {counted['optimizer'] / n:.2f}) "
        f"over {n:,} parameters; recipe {args.recipe}, {args.optimizer}"
    )
    return EXIT_OK


def _is_artifact_path(path: str) -> bool:
    return path.endswith((".sclc", ".sclc.zip"))


def _optimizer_config(args: argparse.Namespace) -> OptimizerConfig:
    return OptimizerConfig.make(
        args.optimizer,
        lr=args.lr,
        weight_decay=args.weight_decay,
        beta1=args.beta1,
        beta2=args.beta2,
        eps=args.eps,
        momentum=args.momentum,
        nesterov=args.nesterov,
    )


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a failure never leaves a half-written file."""
    if path.is_dir():
        raise ScalcError(f"{path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ScalcError(f"{path}: directory {parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scalc",
        description="scalc: a compiler for low-precision (FP8/BF16) training of neural networks.",
        epilog="Run `scalc COMMAND --help` for a command's options. "
        "Exit status: 0 ok, 1 error in your program, 2 bad usage, 3 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"scalc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser(
        "check",
        help="parse and type-check a .scl program",
        description="Parse and type-check FILE (names, shapes, dtypes) and build its IR. "
        "Prints every mistake as FILE:LINE:COL: error: MESSAGE with the source line.",
    )
    check.add_argument("file", metavar="FILE", help="the .scl program ('-' reads standard input)")
    check.add_argument("-q", "--quiet", action="store_true", help="print the summary on stderr")
    check.set_defaults(run=_cmd_check)

    compile_ = commands.add_parser(
        "compile",
        help="compile a .scl program and print an IR stage",
        description="Compile FILE. With `-o OUT.sclc` (or OUT.sclc.zip) and no --emit, write "
        "the compiled artifact that scalc.load() reads; otherwise print the chosen stage: "
        "`ast` (the parsed program), `nn` (the MLIR module of plain tensor ops, the default), "
        "`train` (forward, backward and optimizer step), `scaled` (after the --recipe), "
        "`kernels` (the plan of fused kernels) or `triton` (the generated Triton source of "
        "every kernel, each under a `# ===== triton/ENTRY/NAME.py =====` header).",
    )
    compile_.add_argument("file", metavar="FILE", help="the .scl program ('-' reads standard input)")
    compile_.add_argument(
        "--emit", choices=EMIT_CHOICES, help="the stage to print (default: nn)"
    )
    compile_.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write to OUT instead of standard output; OUT.sclc writes the artifact",
    )
    _add_recipe_option(compile_)
    _add_optimizer_options(compile_)
    compile_.set_defaults(run=_cmd_compile)
    memory = commands.add_parser(
        "memory",
        help="bytes of persistent training state per parameter",
        description="Compile FILE and report the bytes per parameter of the training state "
        "the runtime allocates for it (weights, optimizer state, master copies, Collage "
        "compensation), counted from the actual buffers.",
    )
    memory.add_argument("file", metavar="FILE", help="the .scl program ('-' reads standard input)")
    _add_recipe_option(memory)
    _add_optimizer_options(memory)
    memory.set_defaults(run=_cmd_memory)
    return parser


def _add_recipe_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--recipe",
        default="fp32",
        metavar="RECIPE",
        help=f"precision recipe: {', '.join(RECIPES)} or a .toml/.json recipe file (default: fp32)",
    )


def _add_optimizer_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("optimizer (fixed at compile time; the learning rate can also be fed per step)")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw", help="default: adamw")
    group.add_argument("--lr", type=float, help="learning rate (default 1e-3)")
    group.add_argument("--weight-decay", type=float, help="decoupled for adamw (default 0.01), L2 for sgd (default 0)")
    group.add_argument("--beta1", type=float, help="adamw (default 0.9)")
    group.add_argument("--beta2", type=float, help="adamw (default 0.999)")
    group.add_argument("--eps", type=float, help="adamw (default 1e-8)")
    group.add_argument("--momentum", type=float, help="sgd (default 0.9)")
    group.add_argument("--nesterov", action="store_true", default=None, help="sgd: Nesterov momentum")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``scalc`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ScalcError as err:
        print(err.render(), file=sys.stderr)
        return EXIT_USER_ERROR
    except InternalError as err:
        print(err, file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("scalc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `scalc compile ... | head`: the reader left; that is not an error of ours.
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
