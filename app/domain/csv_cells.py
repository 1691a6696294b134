"""CSV cells that a spreadsheet cannot run as formulas, read back exactly.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's list of what makes a
spreadsheet evaluate a cell) is written with a leading `'`, and so is a cell that starts with `'`
already; reading drops exactly that one quote again. The two are inverse: `restore(neutralise(x))
== x` for any text, and no written cell starts with a formula character."""

from __future__ import annotations

FORMULA_STARTS = frozenset("=+-@\t\r")
ESCAPE = "'"
_ESCAPED = FORMULA_STARTS | {ESCAPE}  # a cell starting with the escape is escaped too: no ambiguity


def neutralise(cell: str) -> str:
    """The cell as written to a CSV: never a formula in a spreadsheet, and `restore` gives it back."""
    return ESCAPE + cell if cell[:1] in _ESCAPED else cell


def restore(cell: str) -> str:
    """The cell as read from a CSV: one leading `'` before a formula character or a `'` is dropped."""
    return cell[1:] if cell[:1] == ESCAPE and cell[1:2] in _ESCAPED else cell
