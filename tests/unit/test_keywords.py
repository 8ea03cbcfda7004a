"""Which replies are keywords: exactly one keyword, case, spaces and punctuation ignored."""

from __future__ import annotations

import pytest

from chalicelib.domain import keywords

OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"]
OPT_IN = ["START", "UNSTOP", "YES"]
HELP = ["HELP", "INFO"]


def test_the_keyword_lists_are_the_products() -> None:
    assert list(keywords.OPT_OUT) == OPT_OUT
    assert list(keywords.OPT_IN) == OPT_IN
    assert list(keywords.HELP) == HELP


@pytest.mark.parametrize("word,action", [(w, "opt_out") for w in OPT_OUT]
                         + [(w, "opt_in") for w in OPT_IN] + [(w, "help") for w in HELP])
@pytest.mark.parametrize("dress", ["{}", "{} ", "  {}\n", "{}!", "{}.", '"{}"', "¡{}!",
                                   "({})", "{} 🙏"])
def test_every_keyword_in_any_case_with_spaces_and_punctuation(word: str, action: str,
                                                               dress: str) -> None:
    for cased in (word, word.lower(), word.capitalize()):
        assert keywords.classify(dress.format(cased)) == (action, word)


@pytest.mark.parametrize("text", [
    "please stop texting me at work",
    "Please stop calling me at work",
    "stop it",
    "STOP STOP",
    "st op",
    "yes please",
    "Yes, I'd like that",
    "help me with my order",
    "I need info about the sale",
    "stopp",
    "opt-out",
    "unsubscribe me",
    "",
    "   ",
    "👍",
    "Can you start delivery tomorrow?",
])
def test_anything_else_is_an_ordinary_reply(text: str) -> None:
    assert keywords.classify(text) is None


def test_full_width_letters_count_as_the_keyword() -> None:
    assert keywords.classify("ＳＴＯＰ") == ("opt_out", "STOP")
