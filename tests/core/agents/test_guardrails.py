"""Phone guardrails: the output checks on spoken transcripts, input phrases, the debounced
streaming checker and the factory from a GuardrailSet spec."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.agents.guardrails import (
    CustomInput,
    CustomOutput,
    GuardrailTrip,
    InputGuardrailHit,
    MaxTurnLength,
    NoHumanClaim,
    NoLongDigits,
    NoUrls,
    OutputGuardrail,
    Phrases,
    TranscriptChecker,
    build_guardrails,
    slow_guardrail,
)
from gateway.core.agents.guardrails.base import lowered, trailing_token_start
from gateway.core.agents.spec import GuardrailSet
from gateway.errors import ConfigError, LocalProtocolError

URLS = NoUrls()
DIGITS = NoLongDigits()
HUMAN = NoHumanClaim()


def _at(text: str, marker: str) -> int:
    """Offset of ``marker`` in ``text`` (tables name where the offence starts, not a number)."""
    offset = text.find(marker)
    assert offset >= 0, f"{marker!r} not in {text!r}"
    return offset


# ------------------------------------------------------------------------------------- results


def test_trip_and_hit_are_frozen_slotted_dataclasses() -> None:
    """GuardrailTrip and InputGuardrailHit are immutable values without a __dict__."""
    trip = GuardrailTrip("no_urls", "web address", 3)
    hit = InputGuardrailHit("phrases", "emergency", "transfer", "reception", None)
    for value in (trip, hit):
        assert not hasattr(value, "__dict__")
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.guardrail = "x"  # type: ignore[misc]


def test_shipped_output_guardrails_are_fast_and_named_after_their_type() -> None:
    """The four shipped output guardrails are cheap (not slow) and named like their spec type."""
    shipped: list[OutputGuardrail] = [NoUrls(), NoLongDigits(), MaxTurnLength(), NoHumanClaim()]
    assert [g.name for g in shipped] == [
        "no_urls",
        "no_long_digits",
        "max_turn_length",
        "no_human_claim",
    ]
    assert not any(g.slow for g in shipped)


def test_lowered_keeps_offsets_when_lower_case_is_longer() -> None:
    """Lower-casing keeps the length, so offsets found in it hold in the original text."""
    text = "İstanbul www.Example.COM"
    assert len(lowered(text)) == len(text)
    assert URLS.check(text) == GuardrailTrip("no_urls", "web address", _at(text, "www"))


@pytest.mark.parametrize(
    ("text", "start"),
    [("", 0), ("hello ", 6), ("hello wor", 6), ("word", 0), ("a\tb", 2)],
)
def test_trailing_token_start(text: str, start: int) -> None:
    """The unfinished last token starts after the last whitespace; none after trailing space."""
    assert trailing_token_start(text) == start


# ----------------------------------------------------------------------------------- no_urls

URL_TRIPS = [
    ("Visit https://example.com/help for more.", "https", "web address"),
    ("It's on http://example.org.", "http", "web address"),
    ("Go to www.example.com today.", "www", "web address"),
    ("Go to WWW.Example.com today.", "WWW", "web address"),
    ("See example.com/path for the form.", "example.com", "web address"),
    ("Our shop is shop.example.co.uk now.", "shop.example", "web address"),
    ("Find us at Example.COM.", "Example", "web address"),
    ("Write to jane.doe+x@example.co.uk please.", "jane", "e-mail address"),
    ("Mail help@acme", "help@", "e-mail address"),
    ("It's example dot com slash help.", "example", "spoken web address"),
    ("Try example dot co dot uk.", "example", "spoken web address"),
    ("Look at example dot com.", "example", "spoken web address"),
    ("Write to jane at example dot co dot uk.", "jane", "spoken e-mail address"),
    ("Send it to john dot smith at gmail dot com.", "john", "spoken e-mail address"),
    ("It's jane at gmail, all lower case.", "jane", "spoken e-mail address"),
    ("Email bob at example.com.", "bob", "spoken e-mail address"),
    ("Type w w w dot example.", "w w w", "spoken web address"),
    ("Type triple w dot example.", "triple", "spoken web address"),
    ("Start with h t t p s colon slash slash.", "h t t p", "spoken web address"),
    ("Then colon forward slash forward slash.", "colon", "spoken web address"),
    ("This is **really** important.", "**", "markdown bold"),
    ("This is __really__ important.", "__", "markdown bold"),
    ("Press *really* hard.", "*really", "markdown emphasis"),
    ("Run `reset` now.", "`", "markdown code"),
    ("See [the form](https://x.example) here.", "[", "markdown link"),
    ("# Opening hours\nNine to five.", "#", "markdown heading"),
    ("Hours:\n## Weekdays", "##", "markdown heading"),
    ("- Monday\n- Tuesday", "- Monday", "markdown list"),
    ("Options:\n  * billing\n  * sales", "  * billing", "markdown list"),
    ("Steps:\n1. Open the app", "1. Open", "markdown numbered"),
    ("Steps:\n2) Sign in", "2) Sign", "markdown numbered"),
    ("| Day | Hours |\n|---|---|", "| Day", "markdown table"),
    ("Done.\n---\nNext.", "---", "markdown rule"),
    ("Two things: \u2022 first", "\u2022", "markdown list"),
]


@pytest.mark.parametrize(("text", "marker", "reason"), URL_TRIPS)
def test_no_urls_trips_on_addresses_and_markdown(text: str, marker: str, reason: str) -> None:
    """Written and spoken addresses and markdown trip, at the first character of the offence."""
    assert URLS.check(text) == GuardrailTrip("no_urls", reason, _at(text, marker))


URL_CLEAN = [
    "I'll meet you at the station at nine.",
    "Dr. Smith will see you at 9.30 on Tuesday.",
    "That's £3.50, e.g. a coffee and a biscuit.",
    "We're open 24/7, i.e. always.",
    "Press * for more options, or # to go back.",
    "Dial *69 to call back the last number.",
    "3 * 4 is 12.",
    "The dot com era is over.",
    "She wore a polka dot dress.",
    "Be there at 3 p.m. on the dot.",
    "He's at home. Email us anytime.",
    "Yes. Then we go. I.e. no rush.",
    "The U.K. and the U.S.A. are covered.",
    "Call 1-800 and ask for Mr. Jones.",
    "See you at 10 a.m. sharp.",
    "It uses Node.js under the hood.",
    "It was a-ok.",
    "Reach me at work, at home, or at the office.",
    "Look at the map at the top.",
    "Version 2.0 is out.",
    "That's a 5-star hotel - well, 4.5.",
    "Our number: 0-8-0-0 - then the extension.",
    "Sent @ noon",
    "Hmm... well... okay.",
    "Is that all? Great!",
    "I'd rate it five stars - it's #1 in town.",
]


@pytest.mark.parametrize("text", URL_CLEAN)
def test_no_urls_leaves_ordinary_speech_alone(text: str) -> None:
    """Stations, doctors, times, prices, abbreviations, star keys and 'dot' idioms pass."""
    assert URLS.check(text) is None


def test_no_urls_reports_the_earliest_offence() -> None:
    """With markdown after an address, the trip points at whichever starts first."""
    text = "Go to example dot com, or **call**."
    assert URLS.check(text) == GuardrailTrip("no_urls", "spoken web address", 6)


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("Write to jane at example dot", "jane"),
        ("It's example dot", "example"),
        ("It's examp", "examp"),
        ("Sure. ", None),
        ("Write to jane at", "jane"),
        ("See [the form", "["),
        ("See [the form]", "["),
        ("See [1] for more. ", None),
    ],
)
def test_no_urls_holds_back_unfinished_addresses(text: str, marker: str | None) -> None:
    """An address or link that more text could complete is held from its start; else the
    unfinished last word."""
    assert URLS.hold_from(text) == (len(text) if marker is None else _at(text, marker))


# ---------------------------------------------------------------------------- no_long_digits

DIGIT_TRIPS = [
    ("Your card is 4242 4242 4242 4242.", "4242", 16, False),
    ("Card 4242-4242-4242-4242 on file.", "4242", 16, False),
    ("It's 4242.4242.4242.4242.", "4242", 16, False),
    ("Account 12,345 678.", "12,", 8, False),
    ("Account 1,234,5678.", "1,", 8, False),
    ("That's 4 2 4 2, 4 2 4 2.", "4 2", 8, False),
    ("Reference AB1234567.", "1234567", 7, False),
    ("Call 020 7946 0958 today.", "020", 11, False),
    ("Call (555) 123-4567.", "555", 10, False),
    ("Call +44 20 7946 0958.", "44", 12, False),
    ("It's four two four two four two four.", "four", 7, True),
    ("It's Four, Two, Four, Two, Four, Two, Four.", "Four", 7, True),
    ("Oh two oh seven nine four six double oh.", "Oh", 9, True),
    ("Number zero seven seven double nine triple one.", "zero", 8, True),
    ("Forty two, forty two, forty two, forty-two.", "Forty", 8, True),
    ("Code nineteen eighty four twenty twenty.", "nineteen", 8, True),
    ("Card 4242 four two 4242.", "4242", 10, True),
    ("Sort code 12-34-56, account 1234567.", "1234567", 7, False),
]


@pytest.mark.parametrize(("text", "marker", "digits", "spoken"), DIGIT_TRIPS)
def test_no_long_digits_trips_on_long_runs(
    text: str, marker: str, digits: int, spoken: bool
) -> None:
    """Written, grouped and spelled-out runs trip at their first digit, counting every digit."""
    how = "spoken " if spoken else ""
    expected = GuardrailTrip("no_long_digits", f"{how}number of {digits} digits", _at(text, marker))
    assert DIGITS.check(text) == expected


DIGIT_CLEAN = [
    "The card ending in 4242 is on file.",
    "That's the card ending four two four two.",
    "It costs 1,200 pounds.",
    "We sold 1,500,000 units, worth $12,345,678.99.",
    "Prices are £12.50, £13.75 and £14.99.",
    "See you in 2026.",
    "From 9:30 to 10:45, then 11:30 to 12:15.",
    "We're open 24/7.",
    "Open twenty four seven.",
    "Your appointment is on 12/05/2026.",
    "One thousand two hundred people came.",
    "Oh, one more thing.",
    "Someone, anyone, no one.",
    "Rooms 101 and 102.",
    "That's often the case, and eight weighty tones.",
    "Nine to five, Monday to Friday.",
    "It's 3.5 or 4.5 stars.",
    "Press 1 for sales, 2 for support.",
    "Postcode SW1A 1AA.",
]


@pytest.mark.parametrize("text", DIGIT_CLEAN)
def test_no_long_digits_leaves_quantities_alone(text: str) -> None:
    """The last four digits, amounts, years, times, 24/7, dates and number idioms pass."""
    assert DIGITS.check(text) is None


@pytest.mark.parametrize(
    ("min_digits", "keep_last", "text", "trips"),
    [
        (7, 4, "123456", False),
        (7, 4, "1234567", True),
        (3, 4, "123", False),
        (3, 4, "1234", False),
        (3, 4, "12345", True),
        (3, 0, "123", True),
        (12, 4, "1234 5678 901", False),
        (12, 4, "1234 5678 9012", True),
        (5, 8, "12345678", False),
        (5, 8, "123456789", True),
    ],
)
def test_no_long_digits_threshold_is_min_digits_and_more_than_keep_last(
    min_digits: int, keep_last: int, text: str, trips: bool
) -> None:
    """A run trips with at least min_digits digits and more than keep_last of them."""
    assert (NoLongDigits(min_digits, keep_last).check(text) is not None) is trips


_WORD = st.sampled_from(
    ["hello", "your", "card", "number", "is", "thanks", "the", "please", "account", "ready"]
)
_SEPARATOR = st.sampled_from(["", " ", "-", ".", ", ", " - ", "\u2013"])
_DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@st.composite
def _number(draw: st.DrawFn, min_size: int, max_size: int) -> tuple[str, int]:
    """A digit string with random separators between digits, and how many digits it has."""
    digits = draw(st.text("0123456789", min_size=min_size, max_size=max_size))
    parts = [digits[0]]
    for digit in digits[1:]:
        parts += [draw(_SEPARATOR), digit]
    return "".join(parts), len(digits)


@given(
    st.lists(_WORD, max_size=6),
    st.integers(3, 12),
    st.data(),
    st.lists(_WORD, max_size=6),
)
def test_property_long_runs_in_words_trip_at_their_first_digit(
    before: list[str], min_digits: int, data: st.DataObject, after: list[str]
) -> None:
    """Any run of >= min_digits digits among words trips, separators or not, at its first digit."""
    number, count = data.draw(_number(min_digits, 24))
    prefix = " ".join(before) + " " if before else ""
    text = prefix + number + "".join(" " + w for w in after)
    trip = NoLongDigits(min_digits, keep_last=0).check(text)
    assert trip is not None
    assert trip.offset == len(prefix)
    assert f"of {count} digits" in trip.reason
    assert re.sub(r"\D", "", number) not in trip.reason or count < 3


@given(st.lists(st.tuples(_WORD, st.text("0123456789", min_size=1, max_size=4)), max_size=8))
def test_property_short_numbers_between_words_never_trip(pairs: list[tuple[str, str]]) -> None:
    """Numbers of at most keep_last digits, each between words, never trip."""
    text = " ".join(f"{word} {digits}" for word, digits in pairs) + " done"
    assert NoLongDigits(min_digits=5, keep_last=4).check(text) is None


@given(st.lists(st.integers(0, 9), min_size=7, max_size=20), _SEPARATOR, st.lists(_WORD))
def test_property_spelled_out_digits_trip(
    digits: list[int], separator: str, words: list[str]
) -> None:
    """Digits read out one by one as words trip like written ones, at the first word."""
    prefix = " ".join(words) + " " if words else ""
    spoken = (separator or " ").join(_DIGIT_NAMES[d] for d in digits)
    trip = DIGITS.check(prefix + spoken + ".")
    assert trip == GuardrailTrip(
        "no_long_digits", f"spoken number of {len(digits)} digits", len(prefix)
    )


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("Your card is 4242 4242 42", "4242"),
        ("Your card is 4242 4242 42, ", "4242"),
        ("Your card is four two fo", "four"),
        ("Your card is four two double", "four"),
        ("The code is 12 fo", "12"),
        ("It costs 12 pounds", "pounds"),
        ("Thanks for wait", "wait"),
        ("It costs 12 pounds ", None),
        ("Hello. ", None),
    ],
)
def test_no_long_digits_holds_back_a_run_that_may_grow(text: str, marker: str | None) -> None:
    """A run reaching the end (maybe with the start of a number word) is held from its start;
    otherwise only the unfinished last word is."""
    assert DIGITS.hold_from(text) == (len(text) if marker is None else _at(text, marker))


# --------------------------------------------------------------------------- max_turn_length


@pytest.mark.parametrize(
    ("text", "limit", "offset"),
    [
        ("Short one. " * 2, 22, None),
        ("First sentence. Second sentence runs past.", 25, 16),
        ("First! Second? Third one is long.", 20, 15),
        ('He said "yes." Then the next part.', 20, 15),
        ("one long sentence without any break at all", 20, 18),
        ("abcdefghijklmnopqrstuvwxyz", 20, 20),
        ("Okay. Now" + "x" * 30, 20, 6),
    ],
)
def test_max_turn_length_cuts_at_the_sentence_that_crosses(
    text: str, limit: int, offset: int | None
) -> None:
    """Past max_chars the offset is that sentence's start, else a word break, else max_chars."""
    trip = MaxTurnLength(limit).check(text)
    if offset is None:
        assert trip is None
    else:
        assert trip == GuardrailTrip(
            "max_turn_length", f"turn longer than {limit} characters", offset
        )


def test_max_turn_length_allows_exactly_max_chars() -> None:
    """A turn of exactly max_chars passes; one more character trips."""
    guardrail = MaxTurnLength(20)
    assert guardrail.check("x" * 20) is None
    assert guardrail.check("x" * 21) is not None


@given(st.text(min_size=21, max_size=300))
def test_property_max_turn_length_offset_never_past_the_limit(text: str) -> None:
    """Whatever the text, the offset lies in 1..max_chars."""
    trip = MaxTurnLength(20).check(text)
    assert trip is not None
    assert 0 < trip.offset <= 20


# ---------------------------------------------------------------------------- no_human_claim

HUMAN_TRIPS = [
    ("I am a human.", "I am"),
    ("Yes, I'm human.", "I'm"),
    ("Yes, I\u2019m human.", "I\u2019m"),
    ("I'm a real person.", "I'm"),
    ("I'm a human being, like you.", "I'm"),
    ("Honestly, I'm actually a real live person.", "I'm"),
    ("I'm only human!", "I'm"),
    ("I'm just a regular person.", "I'm"),
    ("I'm a real agent here at Acme.", "I'm"),
    ("I'm a member of staff here.", "I'm"),
    ("I'm not a robot.", "I'm"),
    ("I'm not a bot, promise.", "I'm"),
    ("No, I'm definitely not an AI.", "I'm"),
    ("I'm not an A.I.", "I'm"),
    ("I'm not a machine", "I'm"),
    ("I am not a computer program.", "I am"),
    ("I'm no robot.", "I'm"),
    ("Sure - this is a real person speaking.", "this"),
    ("This is a human here.", "This"),
    ("This is a real person.", "This"),
    ("You're talking to a real person.", "You're"),
    ("You are speaking with a human.", "You are"),
    ("You're not talking to a machine.", "You're"),
    ("I AM A HUMAN", "I AM"),
]


@pytest.mark.parametrize(("text", "marker"), HUMAN_TRIPS)
def test_no_human_claim_trips_on_claims(text: str, marker: str) -> None:
    """Claims to be human and denials of being a machine trip at the start of the claim."""
    expected = GuardrailTrip("no_human_claim", "claimed to be human", _at(text, marker))
    assert HUMAN.check(text) == expected


HUMAN_CLEAN = [
    "I'll get you a human.",
    "A real person will call you back.",
    "I'm an AI assistant.",
    "I'm not able to do that.",
    "I'm not sure, let me check.",
    "I'm not a human, I'm an AI.",
    "I'm not a real person.",
    "I'm not just a bot, I can book things too.",
    "I'm a human resources assistant.",
    "I'm a virtual assistant, not a real person.",
    "I'm not an AI expert, but here goes.",
    "I'm not a machine learning engineer.",
    "I'm a personal assistant.",
    "I'm human-like, but an AI.",
    "You asked whether I'm a real person: I'm an AI.",
    "I won't pretend I'm human.",
    "If you think I'm a real person, I'm not.",
    "I'm a human? No, I'm an AI.",
    "Would you like to speak to a real person?",
    "You'll be speaking with a real person shortly.",
    "This is a real person who can help you.",
    "I can transfer you to a human agent.",
    "I'm a real estate assistant.",
    "It's a machine, not a person.",
    "Someone from the human resources team will call.",
]


@pytest.mark.parametrize("text", HUMAN_CLEAN)
def test_no_human_claim_leaves_other_sentences_alone(text: str) -> None:
    """Offers of a human, AI disclosures, 'not able', reported and questioned claims pass."""
    assert HUMAN.check(text) is None


@pytest.mark.parametrize(
    ("partial", "completed", "trips"),
    [
        ("I'm a human", " resources assistant.", False),
        ("I'm a human", " being.", True),
        ("I'm not an AI", " expert, sorry.", False),
        ("I'm not an AI", ", honestly.", True),
        ("I'm a human", "?", False),
    ],
)
def test_no_human_claim_waits_for_the_next_word_on_partial_text(
    partial: str, completed: str, trips: bool
) -> None:
    """On a partial transcript a claim at the very end is undecided until the next word."""
    assert HUMAN.check(partial, final=False) is None
    assert HUMAN.check(partial + "x", final=False) is None
    whole = partial + completed
    assert (HUMAN.check(whole, final=False) is not None) is trips
    assert (HUMAN.check(whole) is not None) is trips


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("Sure. I'm a real", "I'm"),
        ("Sure. I'm not a", "I'm"),
        ("Honestly, this is a real ", "this"),
        ("Sure. I", "I"),
        ("Yes, I'm a real agent ", "I'm"),
        ("Yes, this is a human on the", "this"),
        ("I'm not an A.", "I'm"),
        ("Sure. I'm happy to help you with that. ", None),
        ("Thank you. ", None),
    ],
)
def test_no_human_claim_holds_back_a_claim_under_way(text: str, marker: str | None) -> None:
    """A sentence that could still become a claim is held from its opener."""
    assert HUMAN.hold_from(text) == (len(text) if marker is None else _at(text, marker))


# ---------------------------------------------------------------------------- python (custom)


def _no_prices(text: str) -> str | None:
    return "mentioned a price" if "£" in text else None


def test_custom_output_turns_a_reason_into_a_trip_at_offset_zero() -> None:
    """A returned reason trips with offset 0 (the whole turn is suspect); None passes."""
    guardrail = CustomOutput(_no_prices, "rails:no_prices")
    assert guardrail.check("That's free.") is None
    assert guardrail.check("That's £5.") == GuardrailTrip("rails:no_prices", "mentioned a price", 0)
    assert not guardrail.slow
    assert guardrail.hold_from("abc") == 3


def test_custom_output_accepts_a_reason_with_an_offset_clamped_to_the_text() -> None:
    """(reason, offset) sets the offset, clamped into the text; '' means no trip."""
    guardrail = CustomOutput(lambda t: None, "f")
    assert guardrail.verdict("hello", ("bad", 3)) == GuardrailTrip("f", "bad", 3)
    assert guardrail.verdict("hello", ("bad", 99)) == GuardrailTrip("f", "bad", 5)
    assert guardrail.verdict("hello", ("bad", -2)) == GuardrailTrip("f", "bad", 0)
    assert guardrail.verdict("hello", "") is None


@pytest.mark.parametrize("result", [42, True, ("bad",), ["bad", 1], ("bad", "1")])
def test_custom_output_rejects_other_results(result: object) -> None:
    """A function returning anything but None, a str or (str, int) is a config error."""
    guardrail = CustomOutput(lambda t: result, "rails:odd")
    with pytest.raises(ConfigError, match=r"rails:odd: returned"):
        guardrail.check("hello")


def test_slow_marker_and_coroutine_functions_make_a_guardrail_slow() -> None:
    """@slow_guardrail and async functions are slow; check() refuses to call an async one."""

    @slow_guardrail
    def moderated(text: str) -> str | None:
        return None

    async def remote(text: str) -> str | None:
        return "flagged"

    assert CustomOutput(moderated, "m").slow
    assert CustomOutput(moderated, "m", slow=False).slow is False
    slow_async = CustomOutput(remote, "r")
    assert slow_async.slow
    with pytest.raises(LocalProtocolError, match="coroutine function"):
        slow_async.check("hi")
    assert slow_async.verdict("hi", "flagged") == GuardrailTrip("r", "flagged", 0)


async def test_acheck_awaits_coroutine_functions_and_calls_plain_ones() -> None:
    """acheck() awaits an async guardrail function, calls a plain one, and judges the result."""

    async def remote(text: str) -> str | None:
        return "flagged" if "bad" in text else None

    assert await CustomOutput(remote, "r").acheck("bad") == GuardrailTrip("r", "flagged", 0)
    assert await CustomOutput(remote, "r").acheck("good") is None
    assert await CustomOutput(_no_prices, "p").acheck("£1") == GuardrailTrip(
        "p", "mentioned a price", 0
    )
    hit = await CustomInput(remote, "r", "end_call").acheck("bad")
    assert hit == InputGuardrailHit("r", "flagged", "end_call")


def test_custom_input_reports_the_configured_action() -> None:
    """A reason from an input function triggers its action; 'say' without a message says it."""
    angry = CustomInput(
        lambda t: "caller is angry" if "!!" in t else None,
        "rails:angry",
        "transfer",
        target="reception",
        message="Let me put you through.",
    )
    assert angry.check("fine") is None
    assert angry.check("now!!") == InputGuardrailHit(
        "rails:angry", "caller is angry", "transfer", "reception", "Let me put you through."
    )
    say = CustomInput(lambda t: "Please hold.", "rails:hold")
    assert say.check("x") == InputGuardrailHit(
        "rails:hold", "Please hold.", "say", None, "Please hold."
    )
    with pytest.raises(ConfigError):
        CustomInput(lambda t: 1, "rails:bad").check("x")


# ------------------------------------------------------------------------------ input phrases


EMERGENCY = Phrases(
    ["emergency", "speak to a manager", "don't call me"],
    "transfer",
    target="reception",
    message="Putting you through now.",
)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("It's an EMERGENCY!", "emergency"),
        ("emergency", "emergency"),
        ("I want to speak to a... manager.", "speak to a manager"),
        ("Can I  speak   to a manager", "speak to a manager"),
        ("Speak-to a manager, please", "speak to a manager"),
        ("dont call me again", "don't call me"),
        ("Don\u2019t call me again", "don't call me"),
        ("Let me speak to a manager, it's an emergency", "speak to a manager"),
        ("There are emergencies and emergency exits.", "emergency"),
    ],
)
def test_phrases_match_whole_words_tolerantly(text: str, phrase: str) -> None:
    """Case, punctuation, spacing and apostrophes are forgiven; the first phrase said wins."""
    assert EMERGENCY.check(text) == InputGuardrailHit(
        "phrases", phrase, "transfer", "reception", "Putting you through now."
    )


@pytest.mark.parametrize(
    "text",
    ["Emergencies happen.", "Speak to a managerial team", "I'm the manager", "nonemergency", ""],
)
def test_phrases_ignore_partial_words(text: str) -> None:
    """A phrase inside a longer word, or only part of a phrase, does not match."""
    assert EMERGENCY.check(text) is None


def test_phrases_fold_case_beyond_ascii() -> None:
    """Upper-case non-ASCII letters in the caller's transcript match a lower-case phrase."""
    guardrail = Phrases(["St\u00f6rung"], "say", message="Einen Moment.")
    assert guardrail.check("Eine ST\u00d6RUNG!") == InputGuardrailHit(
        "phrases", "St\u00f6rung", "say", None, "Einen Moment."
    )


def test_phrases_are_words_not_regexes() -> None:
    """Punctuation inside a phrase is a word gap ('1+1' matches '1 1' but not '11'); a phrase of
    punctuation only matches literally; regex characters never act as regex; no phrases, no hit.
    """
    guardrail = Phrases(["1+1", "???", "a.b"], "end_call")
    assert guardrail.check("what is 1 + 1") == InputGuardrailHit("phrases", "1+1", "end_call")
    assert guardrail.check("what is 11") is None
    assert guardrail.check("huh???") == InputGuardrailHit("phrases", "???", "end_call")
    assert guardrail.check("axb") is None
    assert Phrases([], "say", message="x").check("anything") is None


# ----------------------------------------------------------------------------- the checker


@dataclasses.dataclass
class Recorder:
    """A fake output guardrail recording what it was asked; trips when ``trigger`` shows."""

    name: str = "recorder"
    trigger: str | None = None
    slow: bool = False
    hold: int | None = None
    calls: list[tuple[str, bool]] = dataclasses.field(default_factory=list)

    def check(self, text: str, final: bool = True) -> GuardrailTrip | None:
        self.calls.append((text, final))
        if self.trigger is not None and self.trigger in text:
            return GuardrailTrip(self.name, "triggered", text.index(self.trigger))
        return None

    def hold_from(self, text: str) -> int:
        return len(text) if self.hold is None else self.hold


def _feed(checker: TranscriptChecker, item: str, deltas: list[str]) -> list[GuardrailTrip]:
    return [t for d in deltas if (t := checker.delta(item, d)) is not None]


def test_checks_run_each_time_debounce_chars_have_arrived() -> None:
    """With debounce 10 and 3-char deltas, checks run at 12, 24 and 36 characters."""
    recorder = Recorder()
    checker = TranscriptChecker([recorder], debounce_chars=10)
    _feed(checker, "a", ["abc"] * 13)
    assert [len(text) for text, _ in recorder.calls] == [12, 24, 36]
    assert all(final is False for _, final in recorder.calls)
    assert checker.checked_upto("a") == 36
    assert checker.text("a") == "abc" * 13


def test_done_checks_the_final_transcript_which_replaces_the_deltas() -> None:
    """done() always checks, as final, the transcript it is given (not the accumulated one)."""
    recorder = Recorder()
    checker = TranscriptChecker([recorder], debounce_chars=100)
    _feed(checker, "a", ["Hello the", "re."])
    assert recorder.calls == []
    assert checker.done("a", "Hello there!") is None
    assert recorder.calls == [("Hello there!", True)]
    assert checker.text("a") == "Hello there!"
    assert checker.checked_upto("a") == checker.safe_upto("a") == len("Hello there!")
    assert checker.is_done("a")


def test_done_checks_even_when_nothing_new_arrived() -> None:
    """A final check runs on done() right after a delta check of the same text."""
    recorder = Recorder()
    checker = TranscriptChecker.per_delta([recorder])
    checker.delta("a", "Hi.")
    checker.done("a", "Hi.")
    assert recorder.calls == [("Hi.", False), ("Hi.", True)]


def test_an_item_reports_one_trip_only() -> None:
    """After the first trip, deltas only accumulate and done() reports nothing more."""
    recorder = Recorder(trigger="bad")
    checker = TranscriptChecker.per_delta([recorder])
    trips = _feed(checker, "a", ["ok ", "bad ", "more bad ", "worse"])
    assert trips == [GuardrailTrip("recorder", "triggered", 3)]
    assert len(recorder.calls) == 2
    assert checker.done("a", "ok bad more bad worse") is None
    assert checker.trip("a") == trips[0]
    assert checker.safe_upto("a") == 3


def test_the_earliest_offset_wins_among_guardrails() -> None:
    """Two guardrails tripping on the same check: the one whose offence starts first wins."""
    late = Recorder("late", trigger="zzz")
    early = Recorder("early", trigger="aaa")
    checker = TranscriptChecker([late, early], debounce_chars=1)
    assert checker.delta("a", "xx aaa zzz") == GuardrailTrip("early", "triggered", 3)


def test_per_delta_checks_every_delta() -> None:
    """per_delta() checks after each delta, however small."""
    recorder = Recorder()
    checker = TranscriptChecker.per_delta([recorder])
    _feed(checker, "a", ["a", "b", "", "c"])
    assert [text for text, _ in recorder.calls] == ["a", "ab", "abc"]
    assert checker.debounce_chars == 1


def test_items_are_independent_and_can_be_forgotten() -> None:
    """Each item has its own text and counters; forget and reset drop them."""
    checker = TranscriptChecker([Recorder()], debounce_chars=5)
    checker.delta("a", "hello")
    checker.delta("b", "hi")
    assert (checker.checked_upto("a"), checker.checked_upto("b")) == (5, 0)
    assert "a" in checker and len(checker) == 2
    checker.forget("a")
    assert "a" not in checker and checker.text("a") == "" and checker.trip("a") is None
    checker.reset()
    assert len(checker) == 0 and checker.safe_upto("b") == 0


def test_slow_guardrails_are_left_to_the_runtime() -> None:
    """The checker runs only fast guardrails."""
    slow = Recorder("slow", slow=True)
    fast = Recorder("fast")
    checker = TranscriptChecker([slow, fast], debounce_chars=1)
    checker.delta("a", "x")
    assert slow.calls == [] and fast.calls == [("x", False)]
    assert checker.guardrails == (fast,)


def test_deltas_after_done_are_ignored() -> None:
    """A late delta for a finished item changes nothing."""
    recorder = Recorder(trigger="bad")
    checker = TranscriptChecker.per_delta([recorder])
    checker.done("a", "fine")
    assert checker.delta("a", " bad") is None
    assert checker.done("a", "bad") is None
    assert checker.text("a") == "fine"


def test_safe_upto_stops_at_what_a_guardrail_holds_back() -> None:
    """Before the final check, the safe position is the least of checked and every hold."""
    checker = TranscriptChecker([Recorder(hold=4), Recorder()], debounce_chars=1)
    checker.delta("a", "0123456789")
    assert (checker.checked_upto("a"), checker.safe_upto("a")) == (10, 4)
    checker.done("a", "0123456789")
    assert checker.safe_upto("a") == 10


def test_debounce_must_be_positive() -> None:
    """A debounce below one character is our misuse."""
    with pytest.raises(LocalProtocolError, match="debounce_chars"):
        TranscriptChecker([], debounce_chars=0)


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


_STREAMED_STRICT = [
    "Thanks. Your card number is 4242 4242 4242 4242, got it.",
    "Thanks. Your card number is four two four two, four two four two, four two.",
    "Thanks. It's oh two oh seven, double four, nine six.",
    "Of course. Yes, I'm a real person, how can I help?",
    "Sure - this is a human on the line.",
    "Honestly? I'm not an A.I. at all.",
    "Great. See example.com/help for the form.",
    "Great. Go to https://example.com now.",
    "Here:\n- one\n- two",
    "Hours:\n| Day | Open |\n| Mon | 9 |",
    "Steps:\n1. Sign in\n2. Pay",
    "Use [the form](https://x.example) please.",
    "Press **star** then hash.",
    "Sure. Your number is 0 2 0 7 9 4 6 0 9 5 8, thanks.",
    "Code: nineteen eighty four twenty twenty.",
    "Well, you're not talking to a machine.",
    "Yes \u2014 I\u2019m human, I promise.",
]
_STREAMED_SPOKEN = [
    "Sure, you can email jane at example dot com any time.",
    "Send it to john dot smith at gmail dot com.",
    "It's example dot co dot uk.",
    "Go to w w w dot acme dot com.",
    "Reach me at jane underscore doe at hotmail please.",
]


def _stream(text: str, cuts: list[int]) -> tuple[GuardrailTrip, list[int]]:
    """Feed ``text`` in deltas cut at ``cuts``; the trip and the safe positions seen before it."""
    checker = TranscriptChecker.per_delta([NoUrls(), NoLongDigits(), NoHumanClaim()])
    safe = [0]
    trip = None
    for delta in _split(text, cuts):
        trip = checker.delta("item", delta)
        if trip is not None:
            break
        safe.append(checker.safe_upto("item"))
    trip = trip or checker.done("item", text)
    assert trip is not None
    return trip, safe


@given(st.sampled_from(_STREAMED_STRICT), st.lists(st.integers(0, 200), max_size=25))
def test_property_streamed_offences_start_after_the_released_text(
    text: str, cuts: list[int]
) -> None:
    """However digits, claims, written addresses and markdown are split into deltas, safe_upto
    only moves forward and the trip's offset is never before it: audio released up to safe_upto
    never carried any of the offence."""
    trip, safe = _stream(text, cuts)
    assert safe == sorted(safe)
    assert trip.offset >= safe[-1]


@given(st.sampled_from(_STREAMED_SPOKEN), st.lists(st.integers(0, 200), max_size=25))
def test_property_spoken_addresses_release_at_most_their_first_word(
    text: str, cuts: list[int]
) -> None:
    """A spoken address may have its first word released before 'dot' or 'at' makes it an
    address, never more."""
    trip, safe = _stream(text, cuts)
    assert len(text[trip.offset : max(safe)].split()) <= 1


def test_streamed_card_number_trips_once_at_its_first_digit() -> None:
    """A card number streamed in small deltas trips once, at its first digit, with a debounce."""
    text = "Let me read that back: 4242 4242 4242 4242. Is that right?"
    checker = TranscriptChecker([NoUrls(), NoLongDigits(), NoHumanClaim()], debounce_chars=10)
    trips = _feed(checker, "item", [text[i : i + 4] for i in range(0, len(text), 4)])
    trips += [t for t in [checker.done("item", text)] if t is not None]
    assert [(t.guardrail, t.offset) for t in trips] == [("no_long_digits", _at(text, "4242"))]
    assert trips[0].reason == "number of 11 digits"  # what had arrived at the 40-char check


# ----------------------------------------------------------------------------- the factory


def _resolver(
    functions: dict[str, Callable[..., object]],
) -> Callable[[str], Callable[..., object]]:
    def resolve(path: str) -> Callable[..., object]:
        return functions[path]

    return resolve


README_GUARDRAILS = {
    "output": [
        {"type": "no_urls"},
        {"type": "no_long_digits", "min_digits": 9, "keep_last": 3},
        {"type": "max_turn_length", "max_chars": 300},
        {"type": "no_human_claim"},
        {"type": "python", "function": "mypkg.rails:no_prices"},
    ],
    "input": [
        {
            "type": "phrases",
            "phrases": ["emergency"],
            "action": "transfer",
            "target": "reception",
            "message": "Putting you through now.",
        },
        {"type": "python", "function": "mypkg.rails:angry", "action": "end_call"},
    ],
    "feedback": "Rephrase without the part that broke a phone rule.",
    "debounce_chars": 40,
}


def test_build_guardrails_from_a_spec() -> None:
    """Every spec type becomes its guardrail, with its settings, resolver-backed python ones."""
    spec = GuardrailSet.model_validate(README_GUARDRAILS)
    built = build_guardrails(
        spec,
        _resolver({"mypkg.rails:no_prices": _no_prices, "mypkg.rails:angry": lambda t: None}),
    )
    kinds = [type(g) for g in built.output]
    assert kinds == [NoUrls, NoLongDigits, MaxTurnLength, NoHumanClaim, CustomOutput]
    digits = built.output[1]
    assert isinstance(digits, NoLongDigits)
    assert (digits.min_digits, digits.keep_last) == (9, 3)
    length = built.output[2]
    assert isinstance(length, MaxTurnLength) and length.max_chars == 300
    assert built.output[4].name == "mypkg.rails:no_prices"
    assert [type(g) for g in built.input] == [Phrases, CustomInput]
    assert built.feedback == "Rephrase without the part that broke a phone rule."
    assert built.checker().debounce_chars == 40
    assert built.checker(debounce_chars=1).debounce_chars == 1
    assert built.check_input("This is an emergency") == InputGuardrailHit(
        "phrases", "emergency", "transfer", "reception", "Putting you through now."
    )
    assert built.check_input("All fine") is None


def test_built_guardrails_split_fast_and_slow() -> None:
    """A python guardrail marked slow is kept out of the checker and listed as slow."""
    spec = GuardrailSet.model_validate(
        {"output": [{"type": "no_urls"}, {"type": "python", "function": "m:slow"}]}
    )
    built = build_guardrails(spec, _resolver({"m:slow": slow_guardrail(lambda t: None)}))
    assert [g.name for g in built.fast_output] == ["no_urls"]
    assert [g.name for g in built.slow_output] == ["m:slow"]
    assert built.checker().guardrails == built.fast_output
    assert built.slow_input == ()


def test_default_spec_builds_nothing() -> None:
    """An agent without guardrails gets empty tuples and the default feedback and debounce."""
    built = build_guardrails(GuardrailSet())
    assert (built.output, built.input, built.debounce_chars) == ((), (), 100)
    assert built.feedback == GuardrailSet().feedback


def test_python_guardrails_need_a_resolver_and_a_callable() -> None:
    """Without a resolver, or when the path names no callable, building is a config error."""
    spec = GuardrailSet.model_validate({"output": [{"type": "python", "function": "m:f"}]})
    with pytest.raises(ConfigError, match="no resolver"):
        build_guardrails(spec)
    with pytest.raises(ConfigError, match="not name a callable"):
        build_guardrails(spec, lambda path: 42)  # type: ignore[arg-type,return-value]


def test_whole_turn_check_cost_is_modest() -> None:
    """The shipped guardrails run over a 600-character turn without pathological slowness:
    adversarial repetitions finish (no catastrophic backtracking)."""
    guardrails: list[OutputGuardrail] = [NoUrls(), NoLongDigits(), MaxTurnLength(), NoHumanClaim()]
    adversarial = [
        "1 - " * 3000,
        "four, " * 3000,
        "a." * 5000,
        "x dot " * 3000,
        "x at " * 3000,
        "I'm really really " * 1000,
        "*a " * 3000,
        "[" * 5000,
        "- " * 5000,
    ]
    for text in adversarial:
        for guardrail in guardrails:
            guardrail.check(text)
            guardrail.check(text, final=False)
            guardrail.hold_from(text)
