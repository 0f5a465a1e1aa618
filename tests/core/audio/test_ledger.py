"""Playout ledger: what the caller heard per assistant item, and where to truncate."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.core.audio import AudioCodec, PlayoutLedger, TruncatePoint


def test_g711_truncate_is_played_bytes_over_eight() -> None:
    """1,000 μ-law bytes received, 803 played: truncate at floor(803 / 8) = 100 ms."""
    ledger = PlayoutLedger(AudioCodec.PCMU)
    ledger.on_received("item_1", 0, 1000)
    ledger.on_played("item_1", 803)
    assert ledger.truncate_point("item_1") == TruncatePoint("item_1", 0, 100)


def test_pcm16_truncate_is_played_bytes_over_forty_eight() -> None:
    """PCM16 24 kHz: 4,799 bytes played is 99 ms."""
    ledger = PlayoutLedger(AudioCodec.PCM16)
    ledger.on_received("item_2", 1, 9600)
    ledger.on_played("item_2", 4799)
    assert ledger.truncate_point("item_2") == TruncatePoint("item_2", 1, 99)


def test_played_never_exceeds_received() -> None:
    """Playing more than was received counts only what was received."""
    ledger = PlayoutLedger(AudioCodec.PCMU)
    ledger.on_received("a", 0, 160)
    assert ledger.on_played("a", 480) == 160
    assert ledger.played_ms("a") == 20


def test_no_truncate_before_audio_or_after_full_playout() -> None:
    """No truncate for an unknown item, an item without audio, or one fully played."""
    ledger = PlayoutLedger(AudioCodec.PCMU)
    assert ledger.truncate_point("nothing") is None
    ledger.on_received("empty", 0, 0)
    assert ledger.truncate_point("empty") is None
    ledger.on_received("done", 0, 320)
    ledger.on_played("done", 320)
    assert ledger.truncate_point("done") == TruncatePoint("done", 0, 40)  # more may still come
    ledger.on_complete("done")
    assert ledger.fully_played("done")
    assert ledger.truncate_point("done") is None


def test_nothing_played_yet_truncates_at_zero() -> None:
    """Audio received but none heard: truncate at 0 so the model forgets the unheard words."""
    ledger = PlayoutLedger(AudioCodec.PCMA)
    ledger.on_received("x", 0, 4000)
    assert ledger.truncate_point("x") == TruncatePoint("x", 0, 0)
    assert ledger.unplayed_bytes("x") == 4000


def test_items_are_counted_separately_and_can_be_forgotten() -> None:
    """Each item has its own timeline starting at zero."""
    ledger = PlayoutLedger(AudioCodec.PCMU)
    ledger.on_received("a", 0, 800)
    ledger.on_played("a", 800)
    ledger.on_received("b", 0, 800)
    ledger.on_played("b", 80)
    assert (ledger.played_ms("a"), ledger.played_ms("b")) == (100, 10)
    ledger.forget("a")
    assert ledger.item("a") is None
    assert len(ledger) == 1


events = st.lists(
    st.tuples(st.sampled_from(["recv", "play"]), st.sampled_from(["a", "b"]), st.integers(0, 5000)),
    max_size=60,
)


@given(st.sampled_from(list(AudioCodec)), events)
def test_ledger_never_reports_more_than_was_received(
    codec: AudioCodec, steps: list[tuple[str, str, int]]
) -> None:
    """Whatever the interleaving, played <= received and truncate ms <= received ms."""
    ledger = PlayoutLedger(codec)
    received = {"a": 0, "b": 0}
    for kind, item, n in steps:
        if kind == "recv":
            ledger.on_received(item, 0, n)
            received[item] += n
        else:
            ledger.on_played(item, n)
    for item, total in received.items():
        assert ledger.played_ms(item) <= total // codec.bytes_per_ms
        point = ledger.truncate_point(item)
        if point is not None:
            assert point.audio_end_ms <= ledger.received_ms(item)
