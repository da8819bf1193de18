"""Kept so existing imports work: JSON Patch / Merge Patch now live in :mod:`tests.fakekube.jsonpatch`."""

from tests.fakekube.jsonpatch import (
    JsonPatchError,
    JsonPatchFormatError,
    JsonPatchTestFailed,
    apply_json_patch,
    apply_merge_patch,
    json_equal,
)

__all__ = [
    "JsonPatchError",
    "JsonPatchFormatError",
    "JsonPatchTestFailed",
    "apply_json_patch",
    "apply_merge_patch",
    "json_equal",
]
