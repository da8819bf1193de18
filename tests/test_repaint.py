"""What a panel repaints when its text changes: the changed cells, and never less (a stale cell
on a visitor's screen is worse than a few bytes)."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Region

from widgets.repaint import changed_cells, changed_regions


def test_a_changed_digit_repaints_that_cell_only() -> None:
    assert changed_cells(Text("hold 03:11 / 01:40"), Text("hold 03:21 / 01:40")) == (8, 9)


def test_a_shorter_row_is_repainted_to_where_the_old_one_ended() -> None:
    # "×8.1 [5.7x–11x]" -> "×9 [6.4x–13x]": the old tail "x]" must be cleared, not kept.
    assert changed_cells(Text("×8.1 [5.7x–11x]"), Text("×9 [6.4x–13x]")) == (1, 15)
    assert changed_cells(Text("+482 5xx  sim"), Text("+48 5xx  sim")) == (3, 13)


def test_a_longer_row_is_repainted_to_its_new_end() -> None:
    assert changed_cells(Text("abc"), Text("abcdef")) == (3, 6)


def test_a_change_of_colour_alone_is_a_change() -> None:
    before, after = Text("PASS", style=""), Text("PASS", end="")
    after.stylize("red", 0, 4)
    assert changed_cells(before, after) == (0, 4)
    assert changed_cells(Text("PASS"), Text("PASS")) is None


def test_wide_characters_repaint_to_the_end_of_the_longer_row() -> None:
    # A double-width character moves every cell after it: no in-place comparison from the end.
    assert changed_cells(Text("a日b"), Text("ab日")) == (1, 4)


def test_rows_are_compared_in_place_and_a_new_shape_repaints_everything() -> None:
    before = [Text("steps 1 → 5"), Text("hold 00:10"), Text("next —")]
    after = [Text("steps 1 → 5"), Text("hold 00:20"), Text("next —")]
    assert changed_regions(before, after, 40) == [Region(8, 1, 1, 1)]
    assert changed_regions(before, after[:2], 40) is None
    assert changed_regions(None, after, 40) is None
    assert changed_regions(before, before, 40) == []
