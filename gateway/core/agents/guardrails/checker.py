"""Debounced guardrail checks on a streaming assistant transcript.

Per assistant item, :class:`TranscriptChecker` accumulates ``response.output_audio_transcript``
deltas and runs the fast output guardrails (slow ones are the runtime's business):

* on a delta, when at least ``debounce_chars`` characters arrived since the last check
  (``debounce_chars=1``: on every delta), as a partial transcript (``final=False``);
* always on ``done(item_id, transcript)``, where the final transcript replaces the accumulated
  text, as a final one.

When several guardrails trip at once the earliest offset wins (ties: configuration order). An
item reports at most one trip; after it, deltas are only accumulated. Deltas after ``done`` are
ignored. ``forget`` drops an item, ``reset`` drops them all.

For audio gating, per item: ``checked_upto`` is how many characters the last check covered, and
``safe_upto`` how far the text is known clean: the checked text minus any unfinished content a
guardrail is still waiting on (``hold_from``), the trip's offset once tripped, and the whole
final transcript after a clean ``done``.

A trip's offset can lie before an earlier ``checked_upto``: content that was clean becomes
offending as text is added (a digit run growing to ``min_digits``). ``safe_upto`` accounts for
the cases the shipped guardrails know about; it is what audio should be released against.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.core.agents.guardrails.base import GuardrailTrip, OutputGuardrail
from gateway.errors import LocalProtocolError

__all__ = ["TranscriptChecker"]


@dataclass(slots=True)
class _Item:
    parts: list[str]
    size: int = 0
    checked: int = 0
    safe: int = 0
    trip: GuardrailTrip | None = None
    done: bool = False

    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts[:] = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""


class TranscriptChecker:
    """Runs the fast output guardrails over each assistant item's transcript as it streams."""

    __slots__ = ("_debounce", "_guardrails", "_items")

    def __init__(self, guardrails: Iterable[OutputGuardrail], debounce_chars: int = 100) -> None:
        if debounce_chars < 1:
            raise LocalProtocolError(f"debounce_chars must be at least 1, got {debounce_chars}")
        self._guardrails = tuple(g for g in guardrails if not g.slow)
        self._debounce = debounce_chars
        self._items: dict[str, _Item] = {}

    @classmethod
    def per_delta(cls, guardrails: Iterable[OutputGuardrail]) -> TranscriptChecker:
        """A checker that checks on every delta (``debounce_chars=1``)."""
        return cls(guardrails, debounce_chars=1)

    @property
    def guardrails(self) -> tuple[OutputGuardrail, ...]:
        """The fast guardrails this checker runs, in configuration order."""
        return self._guardrails

    @property
    def debounce_chars(self) -> int:
        return self._debounce

    def delta(self, item_id: str, delta: str) -> GuardrailTrip | None:
        """Add a transcript delta; the trip if this delta's check found one."""
        item = self._items.get(item_id)
        if item is None:
            item = self._items[item_id] = _Item([])
        if item.done or not delta:
            return None
        item.parts.append(delta)
        item.size += len(delta)
        if item.trip is not None or item.size - item.checked < self._debounce:
            return None
        return self._check(item, item.text(), final=False)

    def done(self, item_id: str, transcript: str) -> GuardrailTrip | None:
        """The item's transcript is complete: check it (unless it already tripped)."""
        item = self._items.get(item_id)
        if item is None:
            item = self._items[item_id] = _Item([])
        if item.done:
            return None
        item.parts[:] = [transcript]
        item.size = len(transcript)
        item.done = True
        if item.trip is not None:
            return None
        return self._check(item, transcript, final=True)

    def _check(self, item: _Item, text: str, final: bool) -> GuardrailTrip | None:
        item.checked = len(text)
        first: GuardrailTrip | None = None
        for guardrail in self._guardrails:
            trip = guardrail.check(text, final)
            if trip is not None and (first is None or trip.offset < first.offset):
                first = trip
        if first is not None:
            item.trip = first
            item.safe = min(first.offset, item.checked)
        elif final:
            item.safe = item.checked
        else:
            item.safe = min([item.checked, *(g.hold_from(text) for g in self._guardrails)])
        return first

    def text(self, item_id: str) -> str:
        """The item's transcript so far (the final one after ``done``)."""
        item = self._items.get(item_id)
        return item.text() if item is not None else ""

    def checked_upto(self, item_id: str) -> int:
        """How many characters of the item's text the last check covered (0 before any)."""
        item = self._items.get(item_id)
        return item.checked if item is not None else 0

    def safe_upto(self, item_id: str) -> int:
        """How many leading characters of the item's text are known clean."""
        item = self._items.get(item_id)
        return item.safe if item is not None else 0

    def trip(self, item_id: str) -> GuardrailTrip | None:
        """The item's trip, if it had one."""
        item = self._items.get(item_id)
        return item.trip if item is not None else None

    def is_done(self, item_id: str) -> bool:
        item = self._items.get(item_id)
        return item is not None and item.done

    def forget(self, item_id: str) -> None:
        self._items.pop(item_id, None)

    def reset(self) -> None:
        self._items.clear()

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __len__(self) -> int:
        return len(self._items)
