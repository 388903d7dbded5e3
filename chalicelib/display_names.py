"""The one display-name rule (guest creation, profile, admin, boards), without pydantic:
reading a profile needs it, and should not load the request models."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

DISPLAY_NAME_MIN = 3
DISPLAY_NAME_MAX = 24
# Letters, digits, '.', '-', '_' and inner spaces; surrounding whitespace is trimmed and
# runs of spaces collapse to one. The same rule is the documented pattern. Letters and
# digits of any script are printable; control, format (bidi overrides, zero-width
# characters), combining-only, private-use and unassigned characters never match.
DISPLAY_NAME_PATTERN = r"^\s*[\w.\-][\w .\-]*[\w.\-]\s*$"
_SPACES = re.compile(r" {2,}")
_ALLOWED = re.compile(r"^[\w.\- ]+$")


def normalize_display_name(value: str) -> str:
    """The one display-name rule (guest creation, profile, admin): the name as stored, or
    ValueError saying why."""
    value = _SPACES.sub(" ", unicodedata.normalize("NFC", value).strip())
    if not DISPLAY_NAME_MIN <= len(value) <= DISPLAY_NAME_MAX:
        raise ValueError(f"must be {DISPLAY_NAME_MIN} to {DISPLAY_NAME_MAX} characters after trimming")
    if not _ALLOWED.match(value) or value[0] == " " or value[-1] == " ":
        raise ValueError("may hold letters, digits, inner spaces and . - _ only")
    if any(unicodedata.category(ch)[0] in "CMZ" and ch != " " for ch in value):
        raise ValueError("may not hold control, format, combining or separator characters")
    return value


def shown_display_name(value: Any, fallback: str) -> str:
    """A stored name as shown to others: names stored before the rule, or that break it,
    are replaced by the fallback (never sent as they are)."""
    if not isinstance(value, str):
        return fallback
    try:
        return normalize_display_name(value)
    except ValueError:
        return fallback
