"""What ``voicegw demo`` prints after its call, and whether the pipeline worked.

Both sides of the conversation, each as *recognised from audio*: the caller's lines as the
emulator's pocketsphinx heard them (the gateway's transcript of the call), and the agent's
as pocketsphinx hears them in the caller's recording. Then the timings: answer, first agent
audio, the caller's measured response latency per turn, and the emulator's own latency per
turn from its log (end of caller speech to first audio delta, recognition included).

The demo passes when the call was answered, handed off from triage to billing, ran
get_balance, was ended by the agent, both sides' words were recognised well enough
(:data:`MIN_WORD_ACCURACY`: allowing for recogniser error, but not for silence or noise),
and every timing was measured. Everything is also written to ``summary.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.app.demo_speech import agent_phrases, hear_recording, word_accuracy
from gateway.emulator.scenario import load_scenario

__all__ = ["MIN_WORD_ACCURACY", "report"]

MIN_WORD_ACCURACY = 0.6


def _said(transcript: list[str], role: str) -> list[str]:
    return [t.partition(": ")[2] for t in transcript if t.partition(": ")[0] == role]


def _cdr(work: Path) -> dict[str, Any]:
    path = work / "cdr" / "cdr.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(json.loads(lines[-1])) if lines else {}


def _emulator_latencies(work: Path) -> list[float]:
    out = []
    for raw in (work / "emulator.log").read_text(errors="replace").splitlines():
        if '"first_audio_sent"' in raw:
            try:
                out.append(float(json.loads(raw)["latency_ms"]))
            except (ValueError, KeyError):
                continue
    return out


def _collect(summary: dict[str, Any], work: Path, graph: Path, scenario: Path) -> dict[str, Any]:
    transcript = summary.get("transcript", [])
    recording = work / "caller-heard.wav"
    heard = []
    if recording.exists():
        phrases = agent_phrases(graph, load_scenario(scenario))
        heard = [
            {"start_ms": h.start_ms, "words": h.words} for h in hear_recording(recording, phrases)
        ]
    cdr = _cdr(work)
    return {
        "call": summary,
        "agents": cdr.get("agents", []),
        "tools": [t["tool"] for t in cdr.get("tools", []) if t.get("ok")],
        "agent_said": _said(transcript, "assistant"),
        "emulator_heard": _said(transcript, "user"),
        "caller_heard": heard,
        "emulator_latency_ms": _emulator_latencies(work),
    }


def _print(data: dict[str, Any], lines: tuple[str, ...]) -> None:
    call = data["call"]
    print("\nThe emulator heard the caller (pocketsphinx on the call's uplink)")
    for index, line in enumerate(lines):
        got = data["emulator_heard"][index] if index < len(data["emulator_heard"]) else "-"
        print(f"  said   {line}\n  heard  {got}")
    print("\nThe caller heard the agent (pocketsphinx on caller-heard.wav)")
    for item in data["caller_heard"]:
        print(f"  {item['start_ms'] / 1000:5.1f} s  {item['words'] or '(nothing recognised)'}")
    print("\nThe agent said (the gateway's transcript)")
    for text in data["agent_said"]:
        print(f"  {text}")
    print(
        f"\nRecognised words: caller -> emulator {data['caller_accuracy']:.0%}, "
        f"agent -> caller {data['agent_accuracy']:.0%}"
    )
    print(f"Agents {' -> '.join(data['agents']) or '-'}; tools {', '.join(data['tools']) or '-'}")
    turns = ", ".join(f"{ms} ms" for ms in call.get("turn_latency_ms", [])) or "-"
    emulated = ", ".join(f"{ms:.0f} ms" for ms in data["emulator_latency_ms"]) or "-"
    ender = "the agent (end_call)" if call.get("hangup_by") == "remote" else "the caller"
    print("\nTimings")
    print(f"  answered after          {call.get('ms_to_answer')} ms (180 Ringing, then 200 OK)")
    print(f"  first agent audio       {call.get('ms_to_first_audio')} ms after answer")
    print(f"  response latency        {turns} (caller: end of its line -> agent audio)")
    print(f"  emulator latency        {emulated} (end of speech -> first audio delta)")
    print(f"  call length             {call.get('duration_s')} s, ended by {ender}")


def _problems(data: dict[str, Any], lines: tuple[str, ...]) -> list[str]:
    call = data["call"]
    checks = {
        "the call was not answered": call.get("answered"),
        "no handoff from triage to billing": data["agents"][:2] == ["triage", "billing"],
        "get_balance did not run": "get_balance" in data["tools"],
        "the agent did not end the call": call.get("hangup_by") == "remote",
        "the emulator did not recognise the caller": data["caller_accuracy"] >= MIN_WORD_ACCURACY,
        "the caller did not hear the agent": data["agent_accuracy"] >= MIN_WORD_ACCURACY,
        "timings are missing": call.get("ms_to_answer") is not None
        and call.get("ms_to_first_audio") is not None
        and len(call.get("turn_latency_ms", [])) == len(lines)
        and len(data["emulator_latency_ms"]) >= len(lines),
    }
    return [problem for problem, ok in checks.items() if not ok]


def report(
    summary: dict[str, Any], work: Path, graph: Path, scenario: Path, lines: tuple[str, ...]
) -> int:
    """Print the call's two sides and timings; 0 if the whole pipeline worked, else 1."""
    if not summary.get("answered"):
        print(f"the call was not answered; see {work}/*.log")
        return 1
    data = _collect(summary, work, graph, scenario)
    data["caller_accuracy"] = word_accuracy(
        list(lines), data["emulator_heard"], digit_by_digit=True
    )
    heard = [h["words"] for h in data["caller_heard"]]
    data["agent_accuracy"] = word_accuracy(data["agent_said"], heard)
    data["problems"] = _problems(data, lines)
    (work / "summary.json").write_text(json.dumps(data, indent=2) + "\n")
    _print(data, lines)
    print(f"\nRecords: {work}/summary.json, {work}/cdr/, recording {work}/caller-heard.wav")
    for problem in data["problems"]:
        print(f"FAILED: {problem}")
    return 1 if data["problems"] else 0
