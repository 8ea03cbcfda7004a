"""Keywords consumers text back: opt out, opt in, help. Pure logic, no AWS.

A reply is a keyword only when it is exactly one keyword once case, surrounding spaces and
punctuation are ignored ("Stop!", " stop. ", "STOP"): "please stop texting me at work" is an
ordinary reply that goes to an agent, not an opt-out. Classifying is not acting: an opt-in word
acts only for a consumer who is opted out (services/inbound.py); for anyone else "Yes" is a reply.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

Action = Literal["opt_out", "opt_in", "help"]

OPT_OUT = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE")
OPT_IN = ("START", "UNSTOP", "YES")
HELP = ("HELP", "INFO")

_ACTIONS: dict[str, Action] = {
    **{word: "opt_out" for word in OPT_OUT},
    **{word: "opt_in" for word in OPT_IN},
    **{word: "help" for word in HELP},
}


def _ignorable(char: str) -> bool:
    # Punctuation (P*), symbols such as emoji (S*), spaces and invisible format characters.
    category = unicodedata.category(char)
    return char.isspace() or category[0] in ("P", "S") or category in ("Cf", "Cc")


def normalize(body: str) -> str:
    """The reply without surrounding spaces/punctuation, in upper case ("Stop!" -> "STOP")."""
    text = unicodedata.normalize("NFKC", body or "")
    start, end = 0, len(text)
    while start < end and _ignorable(text[start]):
        start += 1
    while end > start and _ignorable(text[end - 1]):
        end -= 1
    return text[start:end].upper()


def classify(body: str) -> tuple[Action, str] | None:
    """(action, keyword) when the whole reply is one keyword, else None (an ordinary reply)."""
    word = normalize(body)
    action = _ACTIONS.get(word)
    return (action, word) if action else None
