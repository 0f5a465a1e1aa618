"""Offline OpenAI Realtime API emulator (``voicegw emulator``): the GA WebSocket protocol.

The test double of the whole project and the backend a newcomer runs with no account:

* :class:`EmulatorServer` serves ``ws://HOST:PORT/v1/realtime`` (``?model=`` or ``?call_id=``);
* :class:`EmulatedSession` is the sans-I/O session it drives (events and time in, actions out);
* a :class:`Scenario` (YAML) decides what the model says and which tools it calls;
* :class:`Recognizer` and :class:`Voice` are the plug points for hearing and speaking;
* :class:`Faults` injects drops, delays, errors, refusals and stalls;
* :class:`CallRegistry` holds calls a client can attach to by ``call_id``.
"""

from gateway.emulator.faults import ErrorInjection, Faults
from gateway.emulator.recognizer import Recognizer, ScriptedRecognizer
from gateway.emulator.registry import CallRegistry
from gateway.emulator.response import Pace
from gateway.emulator.scenario import Rule, Scenario, load_scenario, parse_scenario
from gateway.emulator.server import EmulatorServer
from gateway.emulator.session import EmulatedSession, SessionOptions
from gateway.emulator.voice import SyntheticVoice, ToneVoice, Voice, detect_word_tones, tone_hz

__all__ = [
    "CallRegistry",
    "EmulatedSession",
    "EmulatorServer",
    "ErrorInjection",
    "Faults",
    "Pace",
    "Recognizer",
    "Rule",
    "Scenario",
    "ScriptedRecognizer",
    "SessionOptions",
    "SyntheticVoice",
    "ToneVoice",
    "Voice",
    "detect_word_tones",
    "load_scenario",
    "parse_scenario",
    "tone_hz",
]
