"""``GET /calls``: a gateway's recent finished calls, each CDR with its transcript lines."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from gateway.adapters.http_server import Response

__all__ = ["calls_response"]


def calls_response(recent: Iterable[dict[str, Any]], query: str) -> Response:
    """The recent CDRs with their transcripts; ``?sip_call_id=`` keeps that call's only."""
    wanted = parse_qs(query).get("sip_call_id", [None])[0]
    records = [
        {**r, "transcript": _read_lines(r.get("transcript_file"))}
        for r in recent
        if wanted in (None, r.get("sip_call_id"))
    ]
    return Response(200, json.dumps(records).encode(), "application/json")


def _read_lines(path: object) -> list[str]:
    try:
        return Path(str(path)).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
