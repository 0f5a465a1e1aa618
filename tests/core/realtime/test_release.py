"""ReleaseGate: how far an item's audio may play given how far its text is known clean."""

from __future__ import annotations

from gateway.core.realtime.release import ReleaseGate


def test_nothing_is_released_before_any_clean_text() -> None:
    """Frames arrive first: the cursor does not move until text covers them."""
    gate = ReleaseGate()
    assert gate.on_frames("a", first_seq=10, count=50) is None
    assert gate.released_frames("a") == 0


def test_clean_text_releases_audio_at_a_conservative_rate() -> None:
    """20 clean characters cover 1 s at the default 20 characters/s: 50 frames."""
    gate = ReleaseGate()
    gate.on_frames("a", first_seq=100, count=200)
    assert gate.on_text("a", safe_chars=20, total_chars=26) == 100 + 50 - 1
    assert gate.released_frames("a") == 50


def test_release_never_passes_the_frames_queued() -> None:
    """Text far ahead of the audio releases only the frames that exist."""
    gate = ReleaseGate()
    gate.on_frames("a", first_seq=0, count=10)
    assert gate.on_text("a", safe_chars=500, total_chars=500) == 9


def test_clean_final_text_releases_the_whole_item() -> None:
    """A clean transcript.done lets every frame of the item play, including later ones."""
    gate = ReleaseGate()
    gate.on_frames("a", first_seq=0, count=10)
    gate.on_text_done("a", total_chars=300, clean=True)
    assert gate.on_frames("a", first_seq=0, count=5) == 14


def test_exact_proportion_once_text_and_audio_are_done() -> None:
    """A tripped item: with both done, audio up to the same share as the clean text."""
    gate = ReleaseGate()
    gate.on_frames("a", first_seq=0, count=100)
    gate.on_text("a", safe_chars=10, total_chars=40)
    gate.on_audio_done("a")
    assert gate.on_text_done("a", total_chars=40, clean=False) == 24  # 100 * 10 // 40 - 1


def test_the_rate_is_learned_from_long_finished_items() -> None:
    """After a 30-char item took 3 s (10 chars/s), 20 chars cover 1.6 s (1.25x safety)."""
    gate = ReleaseGate()
    gate.on_frames("long", first_seq=0, count=150)
    gate.on_audio_done("long")
    gate.on_text_done("long", total_chars=30, clean=True)
    gate.on_frames("b", first_seq=150, count=200)
    assert gate.on_text("b", safe_chars=20, total_chars=20) == 150 + 80 - 1


def test_short_items_do_not_teach_the_rate() -> None:
    """'Hi.' says little about speed: the default rate stays."""
    gate = ReleaseGate()
    gate.on_frames("hi", first_seq=0, count=20)
    gate.on_text_done("hi", total_chars=3, clean=True)
    gate.on_audio_done("hi")
    gate.on_frames("b", first_seq=20, count=200)
    assert gate.released_frames("b") == 0
    gate.on_text("b", safe_chars=20, total_chars=20)
    assert gate.released_frames("b") == 50


def test_unknown_items_and_clear() -> None:
    """Text for an item without frames moves nothing; clear forgets items."""
    gate = ReleaseGate()
    assert gate.on_text("x", 10, 10) is None
    gate.on_frames("a", 0, 10)
    gate.clear()
    assert gate.released_frames("a") == 0
