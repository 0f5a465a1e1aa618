"""Call records: one CDR JSON line per call, and one transcript file per call.

Every call leaves both, whatever happened to it (rejected, failed, dropped). Lines are written
with a single ``write`` on a file opened for appending, so several worker processes can share
one ``cdr.jsonl``. Secrets never get here: the record holds no headers or keys, and the
transcript is what was said.

A full disk or a missing directory loses nothing: a transcript that cannot be written goes into
the CDR line itself (``transcript``, with ``transcript_error``), and a CDR line that cannot be
written goes to the log whole, as ``cdr_write_failed``; a line only partly written (file-size
limit, full disk) is cut off again, under an exclusive lock, so no torn line is left to glue onto
the next. Neither raises into the call.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from gateway.core.call import CallRecord

__all__ = ["CdrWriter"]

log = structlog.get_logger()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


class CdrWriter:
    """Writes ``<dir>/cdr.jsonl`` and ``<dir>/transcripts/<call_id>.txt``."""

    def __init__(
        self, directory: str | Path, on_write: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.directory = Path(directory)
        self._on_write = on_write
        """Told every CDR once it is written (the metrics count calls here)."""
        self.transcripts = self.directory / "transcripts"
        self.transcripts.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "cdr.jsonl"

    def write_refused(self, record: CallRecord) -> dict[str, Any]:
        """The CDR (and empty transcript) of a call refused before it was answered: it began
        and ended now."""
        now = time.monotonic()
        record.mark("invite", now)
        record.mark("end", now)
        return self.write(record, [], clock_offset=time.time() - now)

    def write(
        self,
        record: CallRecord,
        transcript: Iterable[tuple[str, str]],
        *,
        clock_offset: float,
    ) -> dict[str, Any]:
        """Write the CDR and transcript; ``clock_offset`` turns record times into epoch seconds.

        Returns the CDR as written.
        """
        wall = {name: _iso(t + clock_offset) for name, t in record.times.items()}
        cdr = record.to_cdr(wall)
        lines = [f"{role}: {text}" for role, text in transcript]
        transcript_path = self.transcripts / f"{_safe(record.call_id)}.txt"
        try:
            self.transcripts.mkdir(parents=True, exist_ok=True)
            transcript_path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
            cdr["transcript_file"] = str(transcript_path)
        except OSError as exc:
            cdr["transcript_file"] = None
            cdr["transcript_error"] = str(exc)
            cdr["transcript"] = lines
            log.error("transcript_write_failed", path=str(transcript_path), error=str(exc))
        self._append(cdr)
        if self._on_write is not None:
            self._on_write(cdr)
        return cdr

    def _append(self, cdr: dict[str, Any]) -> None:
        data = (json.dumps(cdr, separators=(",", ":")) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            log.error("cdr_write_failed", path=str(self.path), error=str(exc), cdr=cdr)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # other writers wait while a torn line is taken back
            written = os.write(fd, data)
            if written < len(data):
                os.ftruncate(fd, os.lseek(fd, 0, os.SEEK_CUR) - written)
                raise OSError(f"short write ({written} of {len(data)} bytes), taken back")
        except OSError as exc:
            log.error("cdr_write_failed", path=str(self.path), error=str(exc), cdr=cdr)
        finally:
            os.close(fd)


def _safe(name: str) -> str:
    """A file name for ``name``: readable, bounded, and unique (a hash when it was altered)."""
    clean = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:80] or "call"
    if clean == name:
        return clean
    return f"{clean}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"
