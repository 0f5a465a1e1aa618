"""Tools of ``agents_config/front_desk.yaml``: opening hours, address, taking a message."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

_HOURS = {
    "monday": "9 am to 6 pm",
    "tuesday": "9 am to 6 pm",
    "wednesday": "9 am to 6 pm",
    "thursday": "9 am to 8 pm",
    "friday": "9 am to 6 pm",
    "saturday": "10 am to 2 pm",
    "sunday": "closed",
}


def get_hours(day: str | None = None) -> dict[str, str]:
    """Opening hours for one day, or the whole week when no day is given."""
    if day is None:
        return dict(_HOURS)
    key = day.strip().lower()
    if key not in _HOURS:
        raise ValueError(f"unknown day {day!r}")
    return {key: _HOURS[key]}


def get_address() -> dict[str, str]:
    """Where the business is and how to get there."""
    return {
        "address": "12 Harbour Street, Springfield",
        "directions": "Two minutes from the central station; parking behind the building.",
    }


def take_message(name: str, callback_number: str, message: str) -> dict[str, str]:
    """Store a message for the team; returns its reference.

    Messages are appended as JSON lines to ``$VOICEGW_MESSAGES`` (default
    ``var/messages.jsonl``).
    """
    reference = uuid.uuid4().hex[:8]
    record = {
        "reference": reference,
        "at": datetime.now(UTC).isoformat(),
        "name": name,
        "callback_number": callback_number,
        "message": message,
    }
    path = Path(os.environ.get("VOICEGW_MESSAGES", "var/messages.jsonl"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    return {"reference": reference, "status": "saved"}
