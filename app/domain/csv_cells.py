"""CSV cells that a spreadsheet cannot run as formulas, read back exactly.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's list of what makes a
spreadsheet evaluate a cell) is written with a leading `'`, and so is a cell that starts with `'`
already. Reading drops the whitespace around a cell (hand-written files have it), so a cell that
starts or ends with whitespace is written with the `'` too. Reading drops exactly that one quote
again, and keeps the whitespace of a cell so written. The two are inverse: `restore(neutralise(x))
== x` for any text, and no written cell starts with a formula character."""

from __future__ import annotations

FORMULA_STARTS = frozenset("=+-@\t\r")
ESCAPE = "'"
_ESCAPED = FORMULA_STARTS | {ESCAPE}  # a cell starting with the escape is escaped too: no ambiguity


def neutralise(cell: str) -> str:
    """The cell as written to a CSV: never a formula in a spreadsheet, and `restore` gives it back."""
    return ESCAPE + cell if cell[:1] in _ESCAPED or _edged(cell) else cell


def restore(cell: str) -> str:
    """The cell as read from a CSV: without the whitespace around it, unless it is escaped; then
    exactly its one leading `'` is dropped (the `'` of a cell the export would not escape is kept)."""
    cell = cell.lstrip()
    if cell[:1] == ESCAPE and (cell[1:2] in _ESCAPED or _edged(cell[1:])):
        return cell[1:]
    return cell.rstrip()


def _edged(cell: str) -> bool:
    return cell[:1].isspace() or cell[-1:].isspace()
