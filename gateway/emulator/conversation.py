"""The default conversation: ordered items, their wire form, and delete / truncate rules.

Error wording follows the API where it has been observed: deleting an unknown item answers
``item_delete_invalid_item_id`` "Error deleting item: the item with id 'x' does not exist."
(openai-agents-python tests); the retrieve and truncate codes (``item_retrieve_invalid_item_id``,
``item_truncate_invalid_item_id``) are seen in client code and their messages are written by
analogy. Truncating anything but assistant audio answers ``unsupported_content_type`` "Only
model output audio messages can be truncated"; truncating past the end answers
``invalid_value`` "Audio content of 1200ms is already shorter than 5000ms". A truncated item
keeps the audio heard and loses its transcript.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any

from gateway.core.audio import AudioCodec
from gateway.emulator.schema import ClientEventError
from gateway.emulator.voice import WordMark

__all__ = ["Conversation", "Item"]


@dataclass(slots=True)
class Item:
    """One conversation item, with the audio and word timings the wire form leaves out."""

    id: str
    type: str
    role: str | None = None
    status: str = "completed"
    content: list[dict[str, Any]] = field(default_factory=list)
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None
    audio: bytearray = field(default_factory=bytearray)
    codec: AudioCodec | None = None
    words: list[WordMark] = field(default_factory=list)
    heard: str | None = None
    """What the model understood of a user audio turn (kept even without transcription)."""
    truncated: bool = False
    """Cut by a truncate: audio produced later is not kept, and there is no transcript."""

    @property
    def audio_ms(self) -> float:
        return 0.0 if self.codec is None else len(self.audio) / self.codec.bytes_per_ms

    @property
    def text(self) -> str:
        """The item's words: typed text, transcript or what the model heard."""
        parts = [p.get("text") or p.get("transcript") or "" for p in self.content]
        return self.heard if self.heard is not None else " ".join(p for p in parts if p)

    def to_wire(self, *, with_audio: bool = False) -> dict[str, Any]:
        wire: dict[str, Any] = {"id": self.id, "object": "realtime.item", "type": self.type}
        wire["status"] = self.status
        if self.type == "message":
            wire["role"] = self.role
            wire["content"] = [self._part(p, with_audio) for p in self.content]
        elif self.type == "function_call":
            wire.update(call_id=self.call_id, name=self.name, arguments=self.arguments)
        else:
            wire.update(call_id=self.call_id, output=self.output)
        return wire

    def _part(self, part: dict[str, Any], with_audio: bool) -> dict[str, Any]:
        if with_audio and part["type"] in ("input_audio", "output_audio") and self.audio:
            return {**part, "audio": base64.b64encode(self.audio).decode()}
        return dict(part)

    @classmethod
    def from_client(cls, data: dict[str, Any], item_id: str, codec: AudioCodec) -> Item:
        """An item from a validated ``conversation.item.create`` ``item``."""
        item = cls(id=item_id, type=data["type"], role=data.get("role"))
        item.call_id = data.get("call_id")
        item.name, item.arguments, item.output = (
            data.get("name"),
            data.get("arguments"),
            data.get("output"),
        )
        for part in data.get("content", []):
            item.content.append(item._client_part(part, codec))
        return item

    def _client_part(self, part: dict[str, Any], codec: AudioCodec) -> dict[str, Any]:
        kind = part["type"]
        if kind == "input_audio":
            try:
                audio = base64.b64decode(part.get("audio") or "", validate=True)
            except ValueError:  # binascii.Error is a ValueError
                raise ClientEventError(
                    "Invalid 'item.content.audio': expected base64-encoded audio.",
                    code="invalid_value",
                    param="item.content.audio",
                ) from None
            self.audio, self.codec = bytearray(audio), codec
            return {"type": kind, "transcript": part.get("transcript")}
        if kind == "output_audio":
            return {"type": kind, "transcript": part["text"]}
        return {k: v for k, v in part.items() if k != "audio"}


class Conversation:
    """Items in order; every mutation names the item that precedes the one it touched."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list[Item] = []

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(self._items)

    def get(self, item_id: str) -> Item | None:
        return next((i for i in self._items if i.id == item_id), None)

    def previous_id(self, item: Item) -> str | None:
        index = self._items.index(item)
        return self._items[index - 1].id if index > 0 else None

    def append(self, item: Item) -> str | None:
        """Add ``item`` at the end; return the id of the item before it."""
        self._items.append(item)
        return self.previous_id(item)

    def insert(self, item: Item, previous_item_id: str | None) -> str | None:
        """Add a client's item after ``previous_item_id`` (``None``: last, ``"root"``: first)."""
        self._check_new(item)
        if previous_item_id is None:
            return self.append(item)
        if previous_item_id == "root":
            self._items.insert(0, item)
            return None
        anchor = self.get(previous_item_id)
        if anchor is None:
            raise ClientEventError(
                f"Error adding item: the previous item with id '{previous_item_id}' "
                "does not exist.",
                code="item_create_invalid_previous_item_id",
                param="previous_item_id",
            )
        self._items.insert(self._items.index(anchor) + 1, item)
        return anchor.id

    def _check_new(self, item: Item) -> None:
        """Refuse an id in use, and a function output whose call is not in the conversation."""
        if self.get(item.id) is not None:
            raise ClientEventError(
                f"Error adding item: the item with id '{item.id}' already exists.",
                code="item_create_invalid_item_id",
                param="item.id",
            )
        if item.type == "function_call_output" and not any(
            i.type == "function_call" and i.call_id == item.call_id for i in self._items
        ):
            raise ClientEventError(
                f"Tool call ID '{item.call_id}' not found in conversation.",
                code="invalid_tool_call_id",
                param="item.call_id",
            )

    def require(self, item_id: str, verb: str) -> Item:
        """The item, or the API's ``item_<verb>_invalid_item_id`` error."""
        item = self.get(item_id)
        if item is None:
            gerund = {"delete": "deleting", "retrieve": "retrieving", "truncate": "truncating"}
            raise ClientEventError(
                f"Error {gerund[verb]} item: the item with id '{item_id}' does not exist.",
                code=f"item_{verb}_invalid_item_id",
                param="item_id",
            )
        return item

    def delete(self, item_id: str) -> None:
        self._items.remove(self.require(item_id, "delete"))

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        """Cut an assistant audio item to what was heard and delete its transcript.

        The API deletes the server-side transcript on truncation "to ensure there is not text
        in the context that hasn't been heard by the user" (the SDK's truncate event type), so
        nothing of the item is left as text, even at ``audio_end_ms`` equal to the duration.
        The transcript becomes ``""`` rather than ``null`` (UNVERIFIED, see the README). An item
        still being spoken stays cut: the response's later audio and words are not kept in it.
        """
        item = self.require(item_id, "truncate")
        if item.role != "assistant" or item.codec is None or not item.audio:
            raise ClientEventError(
                "Only model output audio messages can be truncated",
                code="unsupported_content_type",
                param="item_id",
            )
        if content_index != 0:
            raise ClientEventError(
                f"Invalid 'content_index': item has no content part {content_index}.",
                code="invalid_value",
                param="content_index",
            )
        duration = math.ceil(item.audio_ms)
        if audio_end_ms > duration:
            raise ClientEventError(
                f"Audio content of {duration}ms is already shorter than {audio_end_ms}ms",
                code="invalid_value",
                param="audio_end_ms",
            )
        del item.audio[audio_end_ms * item.codec.bytes_per_ms :]
        item.truncated = True
        item.content[0]["transcript"] = ""
