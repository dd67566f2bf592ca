"""The Chainlit app's pure parts: history budget and model choice."""
from __future__ import annotations

import sys

import pytest

from ..support.fixtures import ROOT

sys.path.insert(0, str(ROOT / "deploy" / "chainlit"))
from chat_core import History, pick_model  # noqa: E402

pytestmark = pytest.mark.unit


def test_history_drops_the_oldest_turns_first_and_keeps_the_system_prompt():
    history = History(budget_chars=30)
    for i in range(4):
        history.add("user", f"question {i}")   # 10 chars
        history.add("assistant", f"answer {i}")  # 8 chars
    messages = history.messages("sys")
    assert messages[0] == {"role": "system", "content": "sys"}
    contents = [m["content"] for m in messages[1:]]
    assert contents[-1] == "answer 3" and "question 0" not in contents
    assert messages[1]["role"] == "user", "the kept history starts with a user turn"
    assert sum(len(m["content"]) for m in messages) <= 30


def test_the_latest_message_is_kept_even_over_budget():
    history = History(budget_chars=5)
    history.add("user", "a very long question indeed")
    assert [m["content"] for m in history.messages("")] == ["a very long question indeed"]


@pytest.mark.parametrize("configured,available,expected", [
    ("", ["m:1", "n:2"], "m:1"),
    ("n:2", ["m:1", "n:2"], "n:2"),
    ("phi-4-mini", ["Phi-4-mini-instruct-generic-cpu:5"], "Phi-4-mini-instruct-generic-cpu:5"),
    ("phi-4", ["Phi-4-mini-instruct-generic-cpu:5"], None),
    ("x", [], None),
])
def test_pick_model(configured, available, expected):
    assert pick_model(configured, available) == expected


def test_an_unanswered_question_is_forgotten():
    history = History(1000)
    history.add("user", "q1")
    history.add("assistant", "a1")
    history.add("user", "lost")
    history.forget_last()
    history.add("user", "q2")
    assert [m["content"] for m in history.messages("")] == ["q1", "a1", "q2"]


@pytest.mark.parametrize("configured,available", [
    ("", ["m:1", "n:2"]), ("n:2", ["m:1", "n:2"]), ("phi-4-mini", ["Phi-4-mini-instruct-generic-cpu:5"]),
    ("phi-4", ["phi-4-mini-instruct-generic-cpu:1", "phi-4-generic-cpu:1"]), ("tiny", ["tinyllama-generic-cpu:1"]),
    ("tiny-llama", ["tiny-llama-generic-cpu:1"]), ("x", []),
])
def test_the_app_picks_the_model_fldeploy_would(configured, available):
    """The app's container has no fldeploy, so it carries its own copy of the alias rule: the two agree."""
    from fldeploy.core.foundry_rules import resolve_model

    assert pick_model(configured, available) == resolve_model(configured or None, available)[0]
