"""Reading and rewriting the ``const NAME = value`` lines of a ``.scl`` file, so a test or a
benchmark can compile a smaller (or larger) variant of a real example and still follow the
file as it changes. No torch here: the lowering tests use it where torch must not load."""

from __future__ import annotations

import re

__all__ = ["read_consts", "with_consts"]

_CONST = re.compile(
    r"^(?P<head>const\s+(?P<name>[A-Za-z_]\w*)\s*=\s*)(?P<value>[^#\n]*?)(?P<tail>\s*(#.*)?)$",
    re.MULTILINE,
)


def read_consts(source: str) -> dict[str, int | float]:
    """The ``const`` lines of ``source`` whose value is a plain number: ``{"D": 128, ...}``
    (constants defined by expressions, such as ``DH = D / HEADS``, are left out)."""
    values: dict[str, int | float] = {}
    for m in _CONST.finditer(source):
        text = m["value"].strip()
        try:
            values[m["name"]] = int(text)
        except ValueError:
            try:
                values[m["name"]] = float(text)
            except ValueError:
                continue
    return values


def with_consts(source: str, **values: float) -> str:
    """``source`` with the value of each ``const NAME = ...`` line in ``values`` replaced
    (comments kept); a name without such a line is an error, so a renamed constant fails
    loudly instead of leaving the full-size model in a test."""
    seen: set[str] = set()

    def replace(m: re.Match[str]) -> str:
        name = m["name"]
        if name not in values:
            return m[0]
        seen.add(name)
        return f"{m['head']}{values[name]}{m['tail']}"

    result = _CONST.sub(replace, source)
    missing = sorted(set(values) - seen)
    if missing:
        raise KeyError(f"no `const` line for {', '.join(missing)}")
    return result
