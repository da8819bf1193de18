"""flagd YAML flag files read as flagd reads them (gopkg.in/yaml.v3, then JSON), not as YAML 1.1.

flagd's core/pkg/utils/yaml.go decodes with yaml.v3 and turns every non-string key into its Go
`%v` text before marshalling to JSON. Each test writes a file in a shape flagd serves and asserts
what the flags panel shows, or what a toggle leaves in the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monotui.errors import SourceError
from tests.test_realworld_flags import source, write

# Boolean variant names written without quotes: flagd's boolean shorthand wants them named
# "true"/"false", and yaml.v3 + convertMapKeys gives exactly those strings.
UNQUOTED_BOOLEAN_NAMES = """\
flags:
  dark-mode:            # the shorthand: a rule that returns a boolean picks "true"/"false"
    state: ENABLED
    variants:
      true: true
      false: false
    defaultVariant: "false"
    targeting:
      "==": [{var: plan}, pro]
  retries:
    state: ENABLED
    variants:
      1: 1
      3: 3
    defaultVariant: "3"
"""

# Plain scalars that YAML 1.1 (PyYAML) reads differently from yaml.v3.
SCALARS = """\
flags:
  cache-size:
    state: ENABLED
    variants: {small: 100, big: 1e6}     # 1e6 is a number in YAML 1.2 / yaml.v3
    defaultVariant: big
  cutover:
    state: ENABLED
    variants: {old: 2024-01-01, new: 2024-06-01}   # yaml.v3 keeps timestamps as text
    defaultVariant: new
  quiet-hours:
    state: ENABLED
    variants: {night: "22:00", noon: 12:00}        # 1.1 reads 12:00 as 720 (base 60)
    defaultVariant: noon
  umask:
    state: ENABLED
    variants: {strict: 0o077, loose: 0o022}        # 1.2 octal: 63 and 18
    defaultVariant: strict
  compare:
    state: ENABLED
    variants: {eq: =, ne: "!="}                    # 1.1's value tag: the file did not load
    defaultVariant: eq
"""


def test_unquoted_true_false_variant_names_read_and_toggle(tmp_path: Path) -> None:
    path = write(tmp_path, UNQUOTED_BOOLEAN_NAMES, "flags.flagd.yaml")
    src = source(path)
    flagset = src.read()
    flags = {f.key: f for f in flagset.flags}
    assert flagset.errors == ()
    assert flags["dark-mode"].variants == (("true", True), ("false", False))
    assert (flags["dark-mode"].default_variant, flags["dark-mode"].value) == ("false", False)
    assert flags["dark-mode"].toggle == "false -> true (targeting still applies)"
    assert (flags["retries"].default_variant, flags["retries"].value) == ("3", 3)
    src.toggle("dark-mode", flagset)
    text = path.read_text(encoding="utf-8")
    assert '    defaultVariant: "true"\n' in text
    assert "  dark-mode:            # the shorthand" in text
    assert {f.key: f.value for f in src.read().flags}["dark-mode"] is True


def test_plain_scalars_show_the_values_flagd_serves(tmp_path: Path) -> None:
    flagset = source(write(tmp_path, SCALARS, "flags.flagd.yaml")).read()
    flags = {f.key: f for f in flagset.flags}
    assert flagset.errors == ()
    assert dict(flags["cache-size"].variants) == {"small": 100, "big": 1e6}
    assert flags["cutover"].value == "2024-06-01"
    assert dict(flags["quiet-hours"].variants) == {"night": "22:00", "noon": "12:00"}
    assert dict(flags["umask"].variants) == {"strict": 0o77, "loose": 0o22}
    assert flags["compare"].value == "="


def test_a_key_written_both_plain_and_quoted_is_one_clear_error(tmp_path: Path) -> None:
    text = UNQUOTED_BOOLEAN_NAMES.replace("      false: false\n", '      "true": false\n')
    with pytest.raises(SourceError, match="not valid YAML: the key 'true' appears twice"):
        source(write(tmp_path, text, "flags.flagd.yaml")).read()


def test_a_file_saved_with_a_byte_order_mark_toggles_in_place(tmp_path: Path) -> None:
    # yaml.v3 (flagd) skips a leading BOM; Windows editors write one.
    path = write(tmp_path, "\ufeff" + UNQUOTED_BOOLEAN_NAMES, "flags.flagd.yaml")
    src = source(path)
    src.toggle("dark-mode", src.read())
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\ufeffflags:\n  dark-mode:            # the shorthand")
    assert '    defaultVariant: "true"\n' in text
    assert {f.key: f.value for f in src.read().flags}["dark-mode"] is True
