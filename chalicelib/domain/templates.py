"""WhatsApp templates: body placeholders {{1}}, {{2}}... validated, counted and filled in.

WhatsApp (Meta) rules we check before a template is submitted: the name is lower case letters,
digits and underscores; the body is at most 1,024 characters; variables are numbered from 1 with
no gaps. Values must not hold new lines or tabs or more than four spaces in a row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

BODY_MAX = 1024
NAME_PATTERN = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
STATUSES = ("DRAFT", "PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED")

_PLACEHOLDER = re.compile(r"\{\{([1-9][0-9]{0,2})\}\}")
_BRACES = re.compile(r"\{\{(.*?)\}\}")
_BAD_VALUE = re.compile(r"[\n\r\t]| {5,}")


@dataclass(frozen=True)
class Body:
    """A template body split once into text and variable numbers, so filling it in is a join."""

    text: str
    variable_count: int
    parts: tuple[str | int, ...]

    def render(self, values: Sequence[str]) -> str:
        return "".join(p if isinstance(p, str) else values[p - 1] for p in self.parts)


def body_errors(body: str) -> list[str]:
    """Why a body cannot be a template (empty list: it can)."""
    errors = []
    if not body.strip():
        errors.append("the body is empty")
    if len(body) > BODY_MAX:
        errors.append(f"the body is {len(body)} characters; WhatsApp allows {BODY_MAX}")
    for match in _BRACES.finditer(body):
        if not _PLACEHOLDER.fullmatch(match.group(0)):
            errors.append(f"'{match.group(0)}' is not a variable; variables are written "
                          "{{1}}, {{2}}, ... in order")
    numbers = sorted({int(n) for n in _PLACEHOLDER.findall(body)})
    if numbers and numbers != list(range(1, len(numbers) + 1)):
        missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
        errors.append("variables must be numbered from {{1}} without gaps; missing "
                      + ", ".join("{{" + str(n) + "}}" for n in missing))
    return errors


@lru_cache(maxsize=256)
def parse_body(body: str) -> Body:
    """Split a (valid) body into parts; variable_count is the highest variable number."""
    parts: list[str | int] = []
    last = 0
    highest = 0
    for match in _PLACEHOLDER.finditer(body):
        if match.start() > last:
            parts.append(body[last:match.start()])
        number = int(match.group(1))
        parts.append(number)
        highest = max(highest, number)
        last = match.end()
    if last < len(body):
        parts.append(body[last:])
    return Body(text=body, variable_count=highest, parts=tuple(parts))


def value_error(value: str) -> str | None:
    """Why WhatsApp would refuse a variable's value (None: it would not)."""
    if _BAD_VALUE.search(value):
        return "holds a new line, a tab or more than four spaces in a row, which WhatsApp refuses"
    return None
