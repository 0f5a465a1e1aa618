"""Which calls each worker has live, so a crashed worker's calls are still recorded.

A worker writes one JSON line per admitted and per finished call (:class:`CallJournal`) to a
pipe its supervisor gave it (``VOICEGW_SUPERVISOR_FD``). The supervisor keeps the live set per
worker (:class:`LiveCalls`); when a worker dies, every call still in its set gets a CDR with
outcome ``failed`` and the reason, written by the supervisor to the same ``cdr.jsonl``. A
worker's own CDR write happens before its "end" line, so a call is never recorded twice.

Lines are far below ``PIPE_BUF``, so each ``write`` is atomic. The worker's end is
non-blocking: if the supervisor stopped reading, lines are dropped (and counted) rather than
stalling the event loop.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import structlog

from gateway.core.call import CallRecord
from gateway.observability.cdr import CdrWriter

__all__ = ["SUPERVISOR_FD_ENV", "SUPERVISOR_PID_ENV", "CallJournal", "LiveCalls"]

log = structlog.get_logger()

SUPERVISOR_FD_ENV = "VOICEGW_SUPERVISOR_FD"
SUPERVISOR_PID_ENV = "VOICEGW_SUPERVISOR_PID"
"""The supervisor's pid, for a worker to check it has not been orphaned while starting."""


class CallJournal:
    """Worker side: report calls to the supervisor (a no-op when there is none)."""

    def __init__(self, fd: int | None = None) -> None:
        self._fd = fd
        self.lost = 0
        """Lines dropped because the pipe was full or closed."""
        if fd is not None:
            os.set_blocking(fd, False)

    @classmethod
    def from_env(cls) -> CallJournal:
        """The journal on the pipe named by ``VOICEGW_SUPERVISOR_FD`` (taken out of the env)."""
        value = os.environ.pop(SUPERVISOR_FD_ENV, "")
        return cls(int(value) if value.isdigit() else None)

    def started(self, record: CallRecord) -> None:
        self._write(
            {
                "event": "start",
                "call_id": record.call_id,
                "sip_call_id": record.sip_call_id,
                "caller": record.caller,
                "dialed": record.dialed,
                "at": time.time(),
            }
        )

    def ended(self, call_id: str) -> None:
        self._write({"event": "end", "call_id": call_id})

    def _write(self, line: dict[str, Any]) -> None:
        if self._fd is None:
            return
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode()
        try:
            os.write(self._fd, data)
        except OSError:  # full (BlockingIOError) or the supervisor is gone (EPIPE)
            self.lost += 1


class LiveCalls:
    """Supervisor side: each worker's live calls, and the CDRs of those a dead worker took."""

    def __init__(self, cdr: CdrWriter) -> None:
        self._cdr = cdr
        self._live: dict[int, dict[str, dict[str, Any]]] = {}

    def feed(self, worker: int, line: bytes) -> None:
        """One line from ``worker``'s journal (malformed lines are logged and ignored)."""
        try:
            entry = json.loads(line)
            call_id = str(entry["call_id"])
            event = entry["event"]
        except (ValueError, KeyError, TypeError):
            log.warning("journal_line_malformed", worker=worker, line=line[:200])
            return
        calls = self._live.setdefault(worker, {})
        if event == "start":
            calls[call_id] = entry
        elif event == "end":
            calls.pop(call_id, None)

    def live(self, worker: int) -> list[str]:
        """The call ids ``worker`` has in progress."""
        return list(self._live.get(worker, {}))

    def fail_all(self, worker: int, reason: str) -> list[dict[str, Any]]:
        """``worker`` is gone: write a ``failed`` CDR for each of its live calls."""
        cdrs = []
        now = time.time()
        for entry in self._live.pop(worker, {}).values():
            record = CallRecord(
                call_id=str(entry["call_id"]),
                transport="sip",
                caller=str(entry.get("caller", "")),
                dialed=str(entry.get("dialed", "")),
                sip_call_id=str(entry.get("sip_call_id", "")),
                outcome="failed",
                errors=[reason],
            )
            record.mark("invite", float(entry.get("at", now)))
            record.mark("end", now)
            cdrs.append(self._cdr.write(record, [], clock_offset=0.0))
        if cdrs:
            log.warning("worker_calls_failed", worker=worker, calls=len(cdrs), reason=reason)
        return cdrs
