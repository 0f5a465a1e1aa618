"""Phrase syntax, the JSGF it becomes, and transcripts between spoken and written form."""

from __future__ import annotations

import pytest

from gateway.emulator.phrases import (
    check_phrase,
    examples,
    jsgf,
    phrase_words,
    sentence_phrase,
    spoken,
    word_errors,
    written,
)


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("i need (help", "unclosed '('"),
        ("i need help]", "unbalanced ']'"),
        ("my number is {pin}", "unknown slot {pin}"),
        ("i need help!", "unexpected '!'"),
        ("[ ]", "has no words"),
    ],
)
def test_bad_phrases_are_refused_with_the_reason(phrase: str, message: str) -> None:
    """Unbalanced brackets, unknown slots, stray characters and empty phrases are errors."""
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        check_phrase(phrase)


def test_a_phrase_becomes_one_alternative_of_the_grammar() -> None:
    """Words are lower-cased, brackets kept, slots expanded, and slot rules defined."""
    grammar = jsgf(["[Hello] I need help with my (bill | account)", "it's {digit} {digits}"])
    assert "public <utterance> = <phrase>;" in grammar
    assert "( [ hello ] i need help with my ( bill | account ) )" in grammar
    assert "( it's ( <digit> ) ( <digit>+ ) )" in grammar
    assert "<digit> = zero | one" in grammar and "| oh;" in grammar


def test_words_outside_the_dictionary_match_nothing() -> None:
    """A word not in ``keep`` becomes <NULL>, so the rest of the phrase still works."""
    grammar = jsgf(["my postcode is {code}"], keep={"my", "is"})
    assert "( my <NULL> is ( ( <digit> | <letter> )+ ) )" in grammar
    assert phrase_words("[Hello] my (bill | account) {digits}") == {
        "hello",
        "my",
        "bill",
        "account",
    }


def test_examples_are_the_shortest_and_the_longest_choices() -> None:
    """Optional parts left out then put in, first then last alternatives, slots sampled."""
    assert examples("[hello] i need help with my (bill | payment) [please]") == [
        "i need help with my bill",
        "hello i need help with my payment please",
    ]
    assert examples("my account number is {digit} {digit} {digit} {digit}") == [
        "my account number is nine three eight four"
    ]


def test_written_form_joins_digits_and_codes_like_a_transcription_service() -> None:
    """Spoken digit runs become numbers, letter-digit codes one token, "i" a capital."""
    assert written("my account number is one zero zero one") == "My account number is 1001"
    assert written("my post code is s w one") == "My post code is SW1"
    assert written("i'll take one please") == "I'll take one please"
    assert written("") == ""


def test_spoken_form_reads_numbers_as_espeak_does() -> None:
    """Decimals digit by digit after "point", ordinals, and account numbers when asked."""
    assert spoken("Your balance is 42.10 pounds, due on the 28th.") == [
        *("your", "balance", "is", "forty", "two", "point", "one", "zero", "pounds"),
        *("due", "on", "the", "twenty", "eighth"),
    ]
    assert spoken("open 9 am, 1001 ways, 3rd") == [
        *("open", "nine", "am", "one", "thousand", "and", "one", "ways", "third"),
    ]
    assert spoken("My account number is 1001", digit_by_digit=True)[-4:] == [
        *("one", "zero", "zero", "one")
    ]


def test_agent_sentences_become_phrases_with_value_slots() -> None:
    """Placeholders in a reply template accept a spoken value."""
    assert (
        sentence_phrase("Your balance is {result.balance} pounds, due on {result.due}.")
        == "your balance is {value} pounds due on {value}"
    )


def test_word_errors_count_edits() -> None:
    """Substitutions, insertions and deletions each count one."""
    assert word_errors(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert word_errors([], ["a"]) == 1 and word_errors(["a"], []) == 1
    assert word_errors(["a", "b"], ["a", "b"]) == 0
