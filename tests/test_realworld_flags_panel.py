"""What the flags panel shows for the variant types of flagd-testbed's testing and zero flags
(object, number, empty string), read from a real flagd file through the source. Values are ours.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_realworld_flags import flags_of
from widgets.flags_table import flag_row


def variant_cell(tmp_path: Path, variants: dict[str, object], default: str) -> str:
    flag = {"state": "ENABLED", "variants": variants, "defaultVariant": default}
    read = flags_of(tmp_path, {"flags": {"f": flag}})["f"]
    return flag_row(read, kill_switch=False, read_only=False)[2].plain


def test_an_object_variant_reads_as_the_json_in_the_file(tmp_path: Path) -> None:
    banner = {"showImages": True, "title": "Hi"}
    cell = variant_cell(tmp_path, {"banner": banner, "none": {"a": None}}, "banner")
    assert cell == 'banner = {"showImages": tru…'  # cut to the cell's width
    assert variant_cell(tmp_path, {"banner": banner, "none": {"a": None}}, "none") == (
        'none = {"a": null}'
    )


def test_an_empty_string_variant_is_visible(tmp_path: Path) -> None:
    assert variant_cell(tmp_path, {"zero": "", "other": "x"}, "zero") == 'zero = ""'


def test_numbers_read_as_written(tmp_path: Path) -> None:
    assert variant_cell(tmp_path, {"half": 0.5, "ten": 10}, "half") == "half = 0.5"
