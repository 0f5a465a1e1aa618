"""CDR files: one JSON line per call plus a transcript file, safe to share between processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gateway.core.call import CallRecord
from gateway.observability.cdr import CdrWriter
from tests.conftest import REPO

EPOCH = 1_736_155_800.0  # 2025-01-06T09:30:00Z


def _record(call_id: str = "call-1") -> CallRecord:
    record = CallRecord(call_id, "sip", caller="+441234", dialed="100", outcome="completed")
    record.mark("invite", 10.0)
    record.mark("answer", 10.5)
    record.mark("end", 40.5)
    return record


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_writes_a_cdr_line_and_a_transcript(tmp_path: Path) -> None:
    """One JSON line in cdr.jsonl and ``role: text`` lines in transcripts/<call_id>.txt."""
    writer = CdrWriter(tmp_path / "cdr")
    transcript = [("user", "What are your hours?"), ("assistant", "Nine to six, émigré.")]
    cdr = writer.write(_record(), transcript, clock_offset=EPOCH - 10.0)
    transcript_path = tmp_path / "cdr" / "transcripts" / "call-1.txt"
    assert transcript_path.read_text(encoding="utf-8") == (
        "user: What are your hours?\nassistant: Nine to six, émigré.\n"
    )
    assert _lines(tmp_path / "cdr" / "cdr.jsonl") == [cdr]
    assert cdr["transcript_file"] == str(transcript_path)
    assert cdr["call_id"] == "call-1"
    assert cdr["talk_s"] == 30.0
    assert cdr["ms_since_invite"] == {"invite": 0, "answer": 500, "end": 30500}


def test_times_are_iso_wall_clock_with_milliseconds(tmp_path: Path) -> None:
    """``clock_offset`` turns the record's monotonic times into UTC ISO times."""
    cdr = CdrWriter(tmp_path).write(_record(), [], clock_offset=EPOCH - 10.0)
    assert cdr["times"] == {
        "invite": "2025-01-06T09:30:00.000+00:00",
        "answer": "2025-01-06T09:30:00.500+00:00",
        "end": "2025-01-06T09:30:30.500+00:00",
    }


def test_empty_transcript_gives_an_empty_file(tmp_path: Path) -> None:
    """A call where nobody spoke (rejected, failed) still leaves an (empty) transcript file."""
    writer = CdrWriter(tmp_path)
    writer.write(CallRecord("rejected-1", "sip", outcome="rejected"), [], clock_offset=0.0)
    assert (tmp_path / "transcripts" / "rejected-1.txt").read_text() == ""
    assert _lines(tmp_path / "cdr.jsonl")[0]["outcome"] == "rejected"


def test_lines_are_appended(tmp_path: Path) -> None:
    """Each call appends a line; earlier lines (and a second writer's) are kept."""
    CdrWriter(tmp_path).write(_record("a"), [], clock_offset=0.0)
    CdrWriter(tmp_path).write(_record("b"), [], clock_offset=0.0)
    assert [line["call_id"] for line in _lines(tmp_path / "cdr.jsonl")] == ["a", "b"]


@pytest.mark.parametrize(
    ("call_id", "prefix"),
    [
        ("../../etc/passwd", "______etc_passwd-"),
        ("a/b\\c", "a_b_c-"),
        ("abc@10.0.0.1:5060", "abc_10_0_0_1_5060-"),
        ("x y\nz\x00", "x_y_z_-"),
        ("", "call-"),
        ("call_01-OK", "call_01-OK.txt"),
    ],
)
def test_odd_call_ids_give_safe_file_names(tmp_path: Path, call_id: str, prefix: str) -> None:
    """Unsafe characters become ``_`` plus a hash of the id; the file stays in transcripts/;
    an id that is already safe is the file name as is."""
    cdr = CdrWriter(tmp_path).write(_record(call_id), [("user", "hi")], clock_offset=0.0)
    path = Path(str(cdr["transcript_file"]))
    assert path.name.startswith(prefix)
    assert path.resolve().parent == (tmp_path / "transcripts").resolve()
    assert path.read_text() == "user: hi\n"
    assert _lines(tmp_path / "cdr.jsonl")[0]["call_id"] == call_id


def test_ids_that_clean_up_alike_get_different_files(tmp_path: Path) -> None:
    """'a/b' and 'a_b' must not overwrite each other's transcript; long ids stay short."""
    writer = CdrWriter(tmp_path)
    names = {
        Path(
            str(writer.write(_record(cid), [("user", cid)], clock_offset=0.0)["transcript_file"])
        ).name
        for cid in ("a/b", "a_b", "a:b", "x" * 300)
    }
    assert len(names) == 4
    assert all(len(n) < 120 for n in names)


LINES_PER_WORKER = 40
PAD = 20_000  # long lines: several pages each, so torn writes would show

WORKER = f"""
import sys
from gateway.core.call import CallRecord
from gateway.observability.cdr import CdrWriter
from tests.conftest import REPO

directory, worker = sys.argv[1], sys.argv[2]
writer = CdrWriter(directory)
for n in range({LINES_PER_WORKER}):
    record = CallRecord(f"w{{worker}}-{{n}}", "sip")
    record.errors.append(worker * {PAD})
    writer.write(record, [], clock_offset=0.0)
"""


def test_several_processes_never_interleave_lines(tmp_path: Path) -> None:
    """Lines appended at once by several worker processes are each whole and all present."""
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(w)], cwd=REPO)
        for w in range(4)
    ]
    assert [process.wait(30) for process in workers] == [0, 0, 0, 0]
    lines = _lines(tmp_path / "cdr.jsonl")
    assert len(lines) == 4 * LINES_PER_WORKER
    assert {line["call_id"] for line in lines} == {
        f"w{w}-{n}" for w in range(4) for n in range(LINES_PER_WORKER)
    }
    for line in lines:
        worker = str(line["call_id"])[1]
        assert line["errors"] == [worker * PAD]


def test_transcripts_directory_removed_after_start(tmp_path: Path) -> None:
    """A retention job that deletes ``transcripts/`` under a running gateway costs no record."""
    writer = CdrWriter(tmp_path)
    (tmp_path / "transcripts").rmdir()
    cdr = writer.write(_record(), [("user", "hello")], clock_offset=0.0)
    assert (tmp_path / "transcripts" / "call-1.txt").read_text() == "user: hello\n"
    assert _lines(tmp_path / "cdr.jsonl") == [cdr]


def test_unwritable_transcript_goes_into_the_cdr(tmp_path: Path) -> None:
    """When the transcript file cannot be written, the CDR line is still written and carries
    the transcript itself, with the error."""
    writer = CdrWriter(tmp_path)
    (tmp_path / "transcripts").rmdir()
    (tmp_path / "transcripts").write_text("not a directory")
    with capture_logs() as logs:
        cdr = writer.write(_record(), [("user", "hi"), ("assistant", "hello")], clock_offset=0.0)
    [line] = _lines(tmp_path / "cdr.jsonl")
    assert line == cdr
    assert line["transcript_file"] is None
    assert line["transcript"] == ["user: hi", "assistant: hello"]
    assert "File exists" in str(line["transcript_error"])
    assert [e["event"] for e in logs] == ["transcript_write_failed"]


def test_unwritable_cdr_file_logs_the_whole_record(tmp_path: Path) -> None:
    """A CDR line that cannot be appended does not raise into the call: it goes to the log."""
    writer = CdrWriter(tmp_path)
    (tmp_path / "cdr.jsonl").mkdir()  # opening it for writing fails (EISDIR)
    with capture_logs() as logs:
        cdr = writer.write(_record(), [("user", "hi")], clock_offset=0.0)
    [failed] = [e for e in logs if e["event"] == "cdr_write_failed"]
    assert failed["cdr"] == cdr
    assert "Is a directory" in failed["error"]


_SHORT_WRITE = r"""
import json, os, resource, signal, sys
from gateway.core.call import CallRecord
from gateway.observability.cdr import CdrWriter
import structlog
structlog.configure(processors=[structlog.processors.JSONRenderer()],
                    logger_factory=structlog.PrintLoggerFactory(sys.stdout))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
directory = sys.argv[1]
writer = CdrWriter(directory)
writer.write(CallRecord("first", "sip", outcome="completed"), [], clock_offset=0.0)
size = os.path.getsize(os.path.join(directory, "cdr.jsonl"))
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, resource.RLIM_INFINITY))
big = CallRecord("big", "sip", outcome="completed")
big.errors.extend(["x" * 100] * 30)  # a 3 kB line: only 100 bytes of it fit
writer.write(big, [], clock_offset=0.0)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
writer.write(CallRecord("after", "sip", outcome="completed"), [], clock_offset=0.0)
"""


def test_short_write_neither_raises_nor_glues_the_next_record(tmp_path: Path) -> None:
    """The file-size limit (or a full disk) lets only part of a line through: the record goes to
    the log whole, the fragment is taken back, and the next call's line is intact."""
    done = subprocess.run(
        [sys.executable, "-c", _SHORT_WRITE, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    logged = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    [failed] = [e for e in logged if e["event"] == "cdr_write_failed"]
    assert failed["cdr"]["call_id"] == "big"
    assert failed["error"].startswith("short write (100 of ")
    lines = (tmp_path / "cdr.jsonl").read_text().splitlines()
    assert [json.loads(line)["call_id"] for line in lines] == ["first", "after"]
