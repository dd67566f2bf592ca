"""The Chainlit app's pure parts: history budget (in memory too), message cap, model choice, URLs shown
without their secrets."""
from __future__ import annotations

import sys

import pytest

from ..support.fixtures import ROOT

sys.path.insert(0, str(ROOT / "deploy" / "chainlit"))
from chat_core import Config, History, keep_recent, mask_url, pick_model, too_long, welcome  # noqa: E402

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


def test_history_is_trimmed_in_memory_not_only_when_sent():
    history = History(budget_chars=100)
    for i in range(1000):
        history.add("user", f"question {i:04d} " + "x" * 20)
        history.add("assistant", f"answer {i:04d} " + "y" * 20)
    assert history.chars <= 100 + 40, "memory holds the budget's worth (plus the newest turn), not every turn"
    assert len(history.turns) < 10 and history.turns[0]["role"] == "user"
    assert history.turns[-1]["content"].startswith("answer 0999")
    assert history.messages("")[-1]["content"].startswith("answer 0999")


def test_trimming_in_memory_never_drops_what_would_be_sent():
    """The in-memory budget ignores the system prompt, so it keeps at least what messages() sends."""
    kept, everything = History(budget_chars=60), History(budget_chars=10**9)
    for i in range(30):
        for history in (kept, everything):
            history.add("user" if i % 2 == 0 else "assistant", f"turn {i} " + "z" * (i % 7))
    assert len(everything.turns) == 30 and len(kept.turns) < 30
    everything.budget = 60
    for system in ("", "sys", "a longer system prompt"):
        assert kept.messages(system) == everything.messages(system)


def test_keep_recent_keeps_the_newest_whatever_its_size():
    assert keep_recent(["a" * 50, "b", "c" * 500], 10, len) == ["c" * 500]
    assert keep_recent(["a", "bb", "ccc"], 5, len) == ["bb", "ccc"]
    assert keep_recent([], 5, len) == []


def test_a_message_over_the_limit_is_refused_with_a_clear_reply():
    assert too_long("x" * 16000, 16000) is None
    reply = too_long("x" * 5_000_000, 16000)
    assert "5,000,000 characters" in reply and "16,000" in reply and "MAX_PROMPT_CHARS" in reply
    assert "not sent" in reply
    assert too_long("x" * 100, 0) is None, "0 turns the cap off"
    assert Config.from_env({}).max_prompt_chars == 16000
    assert Config.from_env({"MAX_PROMPT_CHARS": "500"}).max_prompt_chars == 500


@pytest.mark.parametrize("url,shown", [
    ("http://user:secret@host:5273/v1", "http://user:***@host:5273/v1"),
    ("https://api.example.com/v1?key=abc123&api-version=2024-06-01",
     "https://api.example.com/v1?key=***&api-version=2024-06-01"),
    ("https://api.example.com/v1?access_token=abc&sig=zz", "https://api.example.com/v1?access_token=***&sig=***"),
    ("https://ghp_tokenvalue@example.com/v1", "https://***@example.com/v1"),
    ("http://u:p@[fd00::1]:8080/v1", "http://u:***@[fd00::1]:8080/v1"),
    ("http://host.docker.internal:5273/v1", "http://host.docker.internal:5273/v1"),
    ("http://h:99999999/v1", "***"),
])
def test_urls_are_shown_without_their_secrets(url, shown):
    assert mask_url(url) == shown


def test_welcome_message_masks_both_endpoints():
    config = Config.from_env({"BASE_URL": "http://user:secret@127.0.0.1:5273/v1",
                              "CLOUD_BASE_URL": "https://cloud.example.com/v1?key=sk-cloud-secret"})
    config.local.resolved = "tiny:1"
    text = welcome(config)
    assert "secret" not in text and "sk-cloud" not in text
    assert "http://user:***@127.0.0.1:5273/v1" in text and "key=***" in text and "**tiny:1**" in text
