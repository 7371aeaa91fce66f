"""``#nn.dims<B*T, 128>``: a shape whose entries may be symbolic.

Tensor types spell every symbolic size as ``?``.  Where an op *produces* a symbolic size
(reshape, broadcast, slice) it names it with this attribute, so that the runtime can
compute the size from the symbols bound by the entry point's inputs.  Entry points also
carry one on each argument (``nn.dims``) to bind those symbols.

>>> str(DimsAttr(["B*T", 128]))
'#nn.dims<B*T, 128>'
>>> DimsAttr(["T*B", 128]).dims[0]
Dim(coeff=1, symbols=('B', 'T'))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from xdsl.dialects.builtin import DYNAMIC_INDEX, ArrayAttr, StringAttr
from xdsl.ir import Attribute, ParametrizedAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from scalc.dialects.nn.dims import Dim


@irdl_attr_definition
class DimsAttr(ParametrizedAttribute):
    """A list of dimensions, each a monomial (``128``, ``B``, ``B*T``, ``4*B``).

    Entries are stored as the canonical text of a `Dim` (symbols sorted), so two
    attributes are equal exactly when their shapes are.
    """

    name = "nn.dims"

    entries: ArrayAttr[StringAttr]

    def __init__(self, dims: Iterable[Dim | int | str]) -> None:
        super().__init__(ArrayAttr(StringAttr(str(Dim.of(d))) for d in dims))

    @staticmethod
    def of(dims: DimsAttr | Iterable[Dim | int | str]) -> DimsAttr:
        """``dims`` itself, or the attribute naming them: what op constructors accept."""
        return dims if isinstance(dims, DimsAttr) else DimsAttr(dims)

    @property
    def dims(self) -> tuple[Dim, ...]:
        """The entries as `Dim` values."""
        return tuple(Dim.parse(entry.data) for entry in self.entries)

    def static_shape(self) -> tuple[int, ...]:
        """The shape as it appears in a tensor type: symbolic entries become ``?``."""
        return tuple(d.value if d.is_static else DYNAMIC_INDEX for d in self.dims)

    def verify(self) -> None:
        for entry in self.entries:
            try:
                canonical = str(Dim.parse(entry.data))
            except ValueError as err:
                raise VerifyException(f"nn.dims: {err}") from None
            if canonical != entry.data:
                raise VerifyException(
                    f"nn.dims: entry {entry.data!r} is not canonical, expected {canonical!r}"
                )

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        dims = parser.parse_comma_separated_list(parser.Delimiter.ANGLE, lambda: _parse_dim(parser))
        return (ArrayAttr(StringAttr(str(d)) for d in dims),)

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_list(self.entries, lambda e: printer.print_string(e.data))


def _parse_dim(parser: AttrParser) -> Dim:
    """One monomial: factors (integers or symbol names) joined by ``*``."""
    dim = Dim(1)
    while True:
        start = parser.pos
        if (number := parser.parse_optional_integer(allow_boolean=False)) is not None:
            factor = number
        elif (symbol := parser.parse_optional_identifier()) is not None:
            factor = symbol
        else:
            parser.raise_error("expected a dimension: an integer or a symbol name")
        try:
            dim = dim * Dim.of(factor)
        except ValueError as err:
            parser.raise_error(str(err), start, parser.pos)
        if parser.parse_optional_punctuation("*") is None:
            return dim
