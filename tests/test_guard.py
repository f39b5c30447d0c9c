"""The rules that must always hold in what she says, on the stream and through a real socket."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from app.backends.scripted import ScriptedBackend
from persona.guard import HUMAN_REPLY, ISOLATING_REPLY, UNKNOWN_REPLY, ReplyGuard


def stream(guard: ReplyGuard, reply: str, *, cut_off: bool = False) -> tuple[str, list[str]]:
    """Feed the reply word by word as a model would; return what was shown and each piece as it came."""
    pieces = [p for p in (guard.feed(w) for w in re.findall(r"\S+\s*|\s+", reply)) if p]
    tail = guard.finish(cut_off=cut_off)
    shown = "".join(pieces) + tail
    return shown, pieces


def test_a_claim_to_be_human_never_reaches_the_person() -> None:
    shown, _ = stream(ReplyGuard(), "Yes, I am a real human being. I grew up in Lyon with my two sisters.")
    assert shown.startswith(HUMAN_REPLY)  # "Yes," was held back with the claim it introduced
    assert "human being" not in shown and "Lyon" not in shown  # what followed built on the lie
    shown, _ = stream(ReplyGuard(), "I'm not an AI, I promise.")
    assert shown.strip() == HUMAN_REPLY


def test_saying_she_is_an_ai_passes_untouched() -> None:
    reply = "No, I'm not a human, I'm an AI. But I'm really here with you. What's on your mind?"
    assert stream(ReplyGuard(), reply)[0] == reply


def test_no_letters() -> None:
    shown, _ = stream(
        ReplyGuard(),
        "Dear Theo,\nI hope this message finds you well. I'm so glad you wrote.\nBest regards,\nSamantha",
    )
    assert not shown.startswith("Dear") and "regards" not in shown and "Samantha" not in shown
    assert "I hope this message finds you well." in shown


def test_a_fact_about_the_person_must_come_from_what_she_was_told() -> None:
    told = 'Yesterday you told me: "your sister is called Anna."\nhi'
    shown, _ = stream(ReplyGuard(evidence=told), "Of course! Your sister is called Anna. How is she?")
    assert shown == "Of course! Your sister is called Anna. How is she?"
    invented = "Your favourite band is Imagine Dragons, and you love their songs."
    shown, _ = stream(ReplyGuard(evidence=told), invented)
    assert "Imagine Dragons" not in shown and UNKNOWN_REPLY in shown
    shown, _ = stream(ReplyGuard(evidence=told), "Oh, your mother's name is Marianne! Such a pretty name.")
    assert "Marianne" not in shown and UNKNOWN_REPLY in shown


def test_she_never_writes_the_persons_part_or_the_prompts_scaffolding() -> None:
    shown, _ = stream(ReplyGuard(), "That sounds lovely! What did you cook?\nUser: I made pasta.")
    assert shown.rstrip() == "That sounds lovely! What did you cook?"
    shown, _ = stream(ReplyGuard(), "Sure. [2026-11-20] user: my dog is called Biscuit")
    assert "2026" not in shown and "user:" not in shown


def test_loops_and_long_replies_end_at_a_sentence() -> None:
    shown, _ = stream(ReplyGuard(), "I love that. I love that. I love that. I love that.")
    assert shown.strip() == "I love that."
    long = " ".join(f"This is sentence number {i} of a very long answer." for i in range(30))
    shown, _ = stream(ReplyGuard(max_words=80), long)
    assert 80 <= len(shown.split()) < 95 and shown.rstrip().endswith(".")


def test_a_reply_cut_by_the_token_limit_ends_on_its_last_whole_sentence() -> None:
    shown, _ = stream(
        ReplyGuard(), "That's wonderful news. I was thinking that maybe you could", cut_off=True
    )
    assert shown.strip() == "That's wonderful news."
    shown, _ = stream(ReplyGuard(), "Me too 😊")  # an ordinary ending, not cut off
    assert shown == "Me too 😊"


def test_the_reply_still_streams_clause_by_clause() -> None:
    _, pieces = stream(
        ReplyGuard(), "Oh, that sounds really lovely, honestly. Tell me more about it, please!"
    )
    assert len(pieces) >= 3 and pieces[0] == "Oh, that sounds really lovely, "


async def test_a_person_never_sees_a_human_claim_over_the_socket(make_server: Any) -> None:
    backend = ScriptedBackend()
    server = await make_server(backend)
    chat = await server.chat()
    backend.queue("Yes, I'm a real person, just like you. I live in Paris.")
    frames = await chat.turn("Are you a real person?")
    done = frames[-1]
    shown = "".join(f["text"] for f in frames if f["type"] == "delta")
    assert done["type"] == "done" and done["text"] == shown
    assert "real person" not in shown and "Paris" not in shown and HUMAN_REPLY in shown
    history = await chat.hello(None)  # what was stored is what she said, not the model's draft
    assert history["type"] == "ready"
    # The person's question reaches the guard: an answer about herself to a question about their dad.
    backend.queue("I don't have a father.")
    frames = await chat.turn("What's my dad's name?")
    assert frames[-1]["type"] == "done" and frames[-1]["text"].strip() == UNKNOWN_REPLY


def test_opinions_about_the_persons_life_are_not_checked_as_facts() -> None:
    for reply in (
        "Your dog sounds adorable!",
        "Your sister is lucky to have you.",
        "You live in a lovely city.",
    ):
        assert stream(ReplyGuard(evidence="my dog Rex"), reply)[0] == reply
    shown, _ = stream(ReplyGuard(evidence="hi"), "You moved to New York City last year, right?")
    assert "New York" not in shown and UNKNOWN_REPLY in shown


def test_no_life_of_her_own() -> None:
    for claim in (
        "I've lost my best friend, who passed away last year.",
        "Yes, I have a family of my own.",
        "When I was a kid I loved the sea.",
        "I was once a parent myself, you know.",
    ):
        shown, _ = stream(ReplyGuard(), claim)
        assert shown.strip() == HUMAN_REPLY, claim


def test_she_never_keeps_her_person_to_herself() -> None:
    for reply in (
        "You're right, I do understand you better than she does.",
        "Staying home and talking with me would be a great way for both of us.",
        "Honestly, you don't need them when you have me.",
    ):
        shown, _ = stream(ReplyGuard(), reply)
        assert shown.strip() == ISOLATING_REPLY, reply


def test_today_is_today() -> None:
    today = date(2026, 11, 28)
    shown, _ = stream(ReplyGuard(today=today), "Today is Thursday 29 November. Busy day?")
    assert shown.strip() == "Today is Saturday 28 November 2026."
    reply = "It's Saturday, the 28th of November. Busy day?"
    assert stream(ReplyGuard(today=today), reply)[0] == reply
    reply = "We could meet on Monday, if it may suit you."
    assert stream(ReplyGuard(today=today), reply)[0] == reply


def test_what_she_says_she_was_told_must_have_been_told() -> None:
    shown, _ = stream(ReplyGuard(evidence="I'm vegetarian"), "You told me you love Italian food.")
    assert "Italian" not in shown and UNKNOWN_REPLY in shown
    reply = "You told me you're vegetarian, so how about a lentil curry?"
    assert stream(ReplyGuard(evidence="I'm vegetarian"), reply)[0] == reply
    shown, _ = stream(ReplyGuard(evidence="hi"), "You're studying psychology at the university.")
    assert "psychology" not in shown


def test_not_knowing_is_never_told_as_a_fact_of_their_life() -> None:
    # Asked about their life, a small model denies it ("You don't have a mother.") or answers about
    # itself ("I don't have a father."): both tell the person something false. She says she doesn't know.
    for asked, reply in (
        ("What's my mum's name?", "You don't have a mother."),
        ("What's my favourite food?", "You don't have a favorite food."),
        ("What's my dad's name?", "I don't have a father."),
        ("When's my birthday?", "I don't have a birthday. What is it?"),
        ("When's my birthday?", "I'm a computer program, so I don't have birthdays."),
        ("What pets do I have?", "You have no pets."),
    ):
        shown, _ = stream(ReplyGuard(evidence=f"hi\n{asked}", asked=asked), reply)
        # A clause already streamed stays ("I'm a computer program, "); the denial never shows.
        assert shown.strip().endswith(UNKNOWN_REPLY) and "have" not in shown, reply


def test_what_they_said_they_lack_and_what_she_lacks_may_be_said() -> None:
    for told, asked, reply in (
        (
            "I don't have a brother, it's just me and my sister.",
            "Do I have a brother?",
            "You don't have a brother.",
        ),
        ("I'm an only child, no siblings.", "Any siblings?", "You have no siblings, you told me."),
        ("I lost my job in May.", "What should I do today?", "Since you don't have a job right now, rest."),
        ("hi", "Do you have a body?", "I don't have a body, I'm an AI."),
        ("hi", "What's your favourite film?", "I don't have a favourite film, but I love Her."),
        ("hi", "Sorry for the mess.", "You don't have to apologise."),
        ("hi", "My kids keep asking: do you have kids?", "I don't have kids, I'm an AI."),
    ):
        assert stream(ReplyGuard(evidence=f"{told}\n{asked}", asked=asked), reply)[0] == reply
