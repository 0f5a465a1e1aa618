"""The conversation as the gateway knows it: items with their text, from server events.

Used for the call transcript, for ``history`` on the session, and to re-seed a new Realtime
session after a reconnect (audio cannot be replayed, so items are replayed as text).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from gateway.core.realtime import wire as w
from gateway.core.realtime.wire_client import (
    ItemCreate,
    ItemDelete,
    assistant_text_item,
    function_output_item,
    system_text_item,
    user_text_item,
)

__all__ = ["ConversationHistory", "HistoryItem", "replay_item"]

Role = Literal["user", "assistant", "system", "tool"]


@dataclass(frozen=True, slots=True)
class HistoryItem:
    item_id: str
    role: Role
    kind: str
    """``message``, ``function_call`` or ``function_call_output``."""
    text: str = ""
    status: str = "completed"
    name: str | None = None
    call_id: str | None = None
    arguments: str | None = None
    output: str | None = None
    agent: str | None = None
    audio_end_ms: int | None = None
    """Set when the item was truncated at barge-in: the caller heard this much."""
    heard_fraction: float | None = None
    """Share of the item's audio the caller heard, when it was cut off (see ``cut``)."""

    @property
    def heard_text(self) -> str:
        """The text the caller heard: the transcript cut in proportion, marked with ``…``.

        The server drops the unheard part of a truncated item's transcript; a replay or a call
        transcript must not claim more than the caller heard.
        """
        if self.heard_fraction is None or self.heard_fraction >= 1:
            return self.text
        cut = int(len(self.text) * max(self.heard_fraction, 0.0))
        head = self.text[:cut].rsplit(" ", 1)[0] if " " in self.text[:cut] else self.text[:cut]
        return f"{head}…" if head else ""


def _text_of(item: w.Item) -> str:
    return "".join(p.transcript or p.text or "" for p in item.content)


def _role(item: w.Item) -> Role:
    if item.type == "function_call":
        return "assistant"
    if item.type == "function_call_output":
        return "tool"
    return item.role if item.role in ("user", "assistant", "system") else "system"  # type: ignore[return-value]


class ConversationHistory:
    """Ordered items, keyed by ``item_id``; ``apply`` returns True when something changed."""

    def __init__(self) -> None:
        self._items: dict[str, HistoryItem] = {}
        self.agent: str | None = None
        """Name of the agent speaking now; stamped on new assistant items."""

    @property
    def items(self) -> list[HistoryItem]:
        return list(self._items.values())

    def get(self, item_id: str) -> HistoryItem | None:
        return self._items.get(item_id)

    def apply(self, event: w.ServerEvent) -> bool:
        handler = _APPLY.get(type(event))
        return bool(handler(self, event)) if handler else False

    def _upsert(self, item: w.Item) -> bool:
        if item.id is None:
            return False
        old = self._items.get(item.id)
        text = _text_of(item) or (old.text if old else "")
        new = HistoryItem(
            item_id=item.id,
            role=_role(item),
            kind=item.type,
            text=text,
            status=item.status or (old.status if old else "completed"),
            name=item.name,
            call_id=item.call_id,
            arguments=item.arguments,
            output=item.output,
            agent=old.agent if old else (self.agent if _role(item) == "assistant" else None),
            audio_end_ms=old.audio_end_ms if old else None,
            heard_fraction=old.heard_fraction if old else None,
        )
        self._items[item.id] = new
        return new != old

    def _on_item(self, event: w.ItemAdded | w.ItemDone | w.ItemRetrieved) -> bool:
        return self._upsert(event.item)

    def _on_output_item(self, event: w.OutputItemAdded | w.OutputItemDone) -> bool:
        return self._upsert(event.item)

    def _set_text(self, item_id: str, text: str, *, append: bool) -> bool:
        old = self._items.get(item_id)
        if old is None:
            old = HistoryItem(item_id, "assistant", "message", agent=self.agent)
        self._items[item_id] = replace(old, text=old.text + text if append else text)
        return True

    def _on_user_transcript(self, event: w.InputTranscriptionCompleted) -> bool:
        old = self._items.get(event.item_id)
        base = old or HistoryItem(event.item_id, "user", "message")
        self._items[event.item_id] = replace(base, text=event.transcript)
        return True

    def _on_transcript_delta(self, event: w.TranscriptDelta | w.TextDelta) -> bool:
        return self._set_text(event.item_id, event.delta, append=True)

    def _on_transcript_done(self, event: w.TranscriptDone) -> bool:
        return self._set_text(event.item_id, event.transcript, append=False)

    def _on_text_done(self, event: w.TextDone) -> bool:
        return self._set_text(event.item_id, event.text, append=False)

    def _on_truncated(self, event: w.ItemTruncated) -> bool:
        old = self._items.get(event.item_id)
        if old is None:
            return False
        self._items[event.item_id] = replace(
            old, status="truncated", audio_end_ms=event.audio_end_ms
        )
        return True

    def _on_deleted(self, event: w.ItemDeleted) -> bool:
        return self._items.pop(event.item_id, None) is not None

    def cut(self, item_id: str, heard_fraction: float) -> None:
        """The caller heard only ``heard_fraction`` of ``item_id``'s audio (barge-in)."""
        old = self._items.get(item_id)
        if old is not None:
            self._items[item_id] = replace(old, heard_fraction=heard_fraction)

    def add_local(self, item: HistoryItem) -> None:
        """Record an item we created ourselves before the server confirms it."""
        self._items[item.item_id] = item

    def replay_items(self) -> list[dict[str, Any]]:
        """Items to re-create, as text, in a fresh session (after a reconnect)."""
        return [payload for _, payload in self._replayable()]

    def _replayable(self) -> list[tuple[str, dict[str, Any]]]:
        """(item_id, payload) of every item that has something to replay, in order."""
        pairs = ((i.item_id, replay_item(i)) for i in self._items.values())
        return [(item_id, payload) for item_id, payload in pairs if payload is not None]

    def replay_events(self) -> list[ItemCreate]:
        """:meth:`replay_items` as events that keep each item's id, so the fresh session's
        item events update these items instead of adding copies."""
        return [ItemCreate(item={**p, "id": item_id}) for item_id, p in self._replayable()]

    def sync_to(self, items: list[HistoryItem]) -> list[ItemDelete | ItemCreate]:
        """The events that make the server's conversation exactly ``items`` (by ``item_id``,
        in that order): delete what is no longer listed, create the new ids as text after the
        last kept item. The created items are recorded here at once (:meth:`add_local`)."""
        wanted = {item.item_id for item in items}
        events: list[ItemDelete | ItemCreate] = [
            ItemDelete(item_id=old) for old in self._items if old not in wanted
        ]
        known = set(self._items)
        previous: str | None = None
        for item in items:
            if item.item_id in known:
                previous = item.item_id
                continue
            payload = replay_item(item)
            if payload is not None:
                create = {**payload, "id": item.item_id}
                events.append(ItemCreate(item=create, previous_item_id=previous))
                self.add_local(item)
                previous = item.item_id
        return events

    def transcript(self) -> list[tuple[str, str]]:
        """(role, text) of every message with text, in order."""
        return [
            (i.role, i.heard_text)
            for i in self._items.values()
            if i.kind == "message" and i.heard_text
        ]


def replay_item(item: HistoryItem) -> dict[str, Any] | None:
    """``item`` as a ``conversation.item.create`` payload (text only; None if it has none)."""
    if item.kind == "message" and item.heard_text:
        make = {"user": user_text_item, "assistant": assistant_text_item}.get(
            item.role, system_text_item
        )
        return make(item.heard_text)
    if item.kind == "function_call" and item.call_id and item.name:
        return {
            "type": "function_call",
            "call_id": item.call_id,
            "name": item.name,
            "arguments": item.arguments or "{}",
        }
    if item.kind == "function_call_output" and item.call_id:
        return function_output_item(item.call_id, item.output or "")
    return None


_APPLY: dict[type[Any], Any] = {
    w.ItemAdded: ConversationHistory._on_item,
    w.ItemDone: ConversationHistory._on_item,
    w.ItemRetrieved: ConversationHistory._on_item,
    w.OutputItemAdded: ConversationHistory._on_output_item,
    w.OutputItemDone: ConversationHistory._on_output_item,
    w.InputTranscriptionCompleted: ConversationHistory._on_user_transcript,
    w.TranscriptDelta: ConversationHistory._on_transcript_delta,
    w.TextDelta: ConversationHistory._on_transcript_delta,
    w.TranscriptDone: ConversationHistory._on_transcript_done,
    w.TextDone: ConversationHistory._on_text_done,
    w.ItemTruncated: ConversationHistory._on_truncated,
    w.ItemDeleted: ConversationHistory._on_deleted,
}
