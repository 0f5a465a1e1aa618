"""``voicegw call``: a pjsua2 test caller that speaks, listens, records and reports.

It places one call, plays its lines (WAV files or espeak-ng speech) taking turns with the far
end (a line starts once the far end has spoken and then been quiet), can send DTMF, records
what it hears, and prints a JSON summary: SIP codes, ms to answer, ms to first audio, the level
of what it heard, who hung up, and — given the gateway's HTTP address — the call's transcript
from the gateway's records. Given a user and password it answers digest challenges.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pjsua2 as pj

from gateway.adapters.sip.bytevec import select_frame_access
from gateway.adapters.sip.endpoint import EndpointSettings, PjsuaThread
from gateway.adapters.sip.media import FRAME_BYTES, PlayoutRing, UplinkQueue
from gateway.adapters.sip.pjutil import DISCONNECTED, active_audio, dtmf_param, response
from gateway.adapters.sip.port import CallMediaPort
from gateway.app.wavio import rms_dbfs

__all__ = ["CallPlan", "TestCaller"]

_VOICE_DBFS = -40.0
"""A 20 ms frame louder than this counts as the far end speaking."""


@dataclass
class CallPlan:
    uri: str
    lines: list[bytes] = field(default_factory=list)
    """PCM16 8 kHz utterances, spoken in turn."""
    dtmf: str = ""
    dtmf_method: str = "rfc4733"
    after_answer_ms: int = 1000
    """When DTMF is sent (and the earliest a line may start)."""
    quiet_ms: int = 800
    """Far-end silence that ends its turn."""
    turn_timeout_s: float = 20.0
    duration_s: float = 60.0
    barge_in_after_ms: int | None = None
    """Speak lines after the first this long into the far end's turn (talk over it)."""
    from_user: str = "caller"
    gateway_http: str = ""
    auth_user: str = ""
    """Answer a digest challenge (401/407) as this user; empty: no credentials."""
    auth_password: str = field(default="", repr=False)


@dataclass
class Summary:
    answered: bool = False
    sip_codes: list[int] = field(default_factory=list)
    reason: str = ""
    sip_call_id: str = ""
    ms_to_answer: int | None = None
    ms_to_first_audio: int | None = None
    received_seconds: float = 0.0
    received_rms_dbfs: float | None = None
    lines_played: int = 0
    line_starts_ms: list[int] = field(default_factory=list)
    turn_latency_ms: list[int] = field(default_factory=list)
    """Per line: from the end of the line to the far end's next speech."""
    silence_after_barge_in_ms: int | None = None
    """From the start of a barge-in line until the far end's audio went quiet."""
    hangup_by: str = ""
    transferred_to: str = ""
    transfer_status: int | None = None
    """Final status of the call the REFER made us place (200: the target answered)."""
    duration_s: float = 0.0
    transcript: list[str] = field(default_factory=list)


class _Call(pj.Call):  # type: ignore[misc]  # pjsua2 is untyped
    def __init__(self, caller: TestCaller, account: Any) -> None:
        super().__init__(account)
        self._caller = caller

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        self._caller.post(
            self._caller.on_state,
            info.state,
            info.lastStatusCode,
            info.lastReason,
            info.callIdString,
        )

    def onCallMediaState(self, prm: Any) -> None:
        self._caller.post(self._caller.on_media)

    def onCallTransferRequest(self, prm: Any) -> None:
        # Follow the REFER as a phone would: pjsua places the new call; we supply its object.
        target = _TransferCall(self._caller, self._caller.account)
        prm.newCall = target
        self._caller.post(self._caller.on_transfer_request, target, prm.dstUri)


class _TransferCall(pj.Call):  # type: ignore[misc]  # pjsua2 is untyped
    def __init__(self, caller: TestCaller, account: Any) -> None:
        super().__init__(account)
        self._caller = caller

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        self._caller.post(self._caller.on_transfer_state, info.state, info.lastStatusCode)


class TestCaller:
    """One call from a fresh pjsua2 endpoint in this process."""

    def __init__(self, plan: CallPlan) -> None:
        self.plan = plan
        self.summary = Summary()
        self.pjsua = PjsuaThread(EndpointSettings(host="127.0.0.1", port=0))
        self.uplink = UplinkQueue(capacity_ms=10_000)
        self.ring = PlayoutRing()
        self.heard = bytearray()
        self._loop = asyncio.get_running_loop()
        self._call: _Call | None = None
        self._account: Any = None
        self._port: CallMediaPort | None = None
        self._media_up = asyncio.Event()
        self._ended = asyncio.Event()
        self._started = 0.0
        self._answered_at = 0.0
        self._last_voice = 0.0
        self._voiced_frames = 0
        self._line_ends: list[float] = []
        self._transfer_call: Any = None
        self._barge_at = 0.0
        self._quiet_frames = 0
        self._transfer_done = asyncio.Event()

    def post(self, fn: Any, *args: Any) -> None:
        self._loop.call_soon_threadsafe(fn, *args)

    # ----------------------------------------------------------------------------- callbacks

    def on_state(self, state: int, code: int, reason: str, sip_call_id: str) -> None:
        summary = self.summary
        summary.sip_call_id = sip_call_id or summary.sip_call_id
        new_code = code >= 180 and (not summary.sip_codes or summary.sip_codes[-1] != code)
        if new_code and not (summary.answered and code != 200):
            summary.sip_codes.append(code)
        if state == pj.PJSIP_INV_STATE_CONFIRMED and not summary.answered:
            summary.answered = True
            self._answered_at = time.monotonic()
            summary.ms_to_answer = round((self._answered_at - self._started) * 1000)
        if state == DISCONNECTED:
            summary.reason = f"{code} {reason}"
            summary.hangup_by = summary.hangup_by or "remote"
            self._ended.set()

    @property
    def account(self) -> Any:
        return self._account

    def on_transfer_request(self, call: Any, target: str) -> None:
        self._transfer_call = self.pjsua.track(call)
        self.summary.transferred_to = target

    def on_transfer_state(self, state: int, code: int) -> None:
        if state == pj.PJSIP_INV_STATE_CONFIRMED or (state == DISCONNECTED and code >= 300):
            if self.summary.transfer_status is None:
                self.summary.transfer_status = code if code >= 300 else 200
            self._transfer_done.set()
        elif state == DISCONNECTED:
            self._transfer_done.set()

    def on_media(self) -> None:
        if not self._media_up.is_set():
            self._media_up.set()

    # -------------------------------------------------------------------------------- running

    async def run(self) -> Summary:
        await asyncio.to_thread(self.pjsua.start)
        self.pjsua.register_thread()  # the loop thread (start ran in a worker thread)
        self.pjsua.before_destroy(self._drop)
        access = await self.pjsua.run(select_frame_access)
        self._started = time.monotonic()
        await self.pjsua.run(self._place)
        try:
            await self._converse(access)
        finally:
            self.summary.duration_s = round(time.monotonic() - self._started, 3)
            await self._hangup()
            await asyncio.to_thread(self.pjsua.stop, 5.0, graceful=True)
        await self._summarise()
        return self.summary

    def _place(self) -> None:
        cfg = pj.AccountConfig()
        cfg.idUri = f"sip:{self.plan.from_user}@127.0.0.1:{self.pjsua.sip_port}"
        if self.plan.auth_user:  # any realm: the test caller trusts what it was pointed at
            plan = self.plan
            credentials = pj.AuthCredInfo("digest", "*", plan.auth_user, 0, plan.auth_password)
            cfg.sipConfig.authCreds.append(credentials)
        self._account = self.pjsua.track(pj.Account())
        self._account.create(cfg)
        self._call = self.pjsua.track(_Call(self, self._account))
        self._call.makeCall(self.plan.uri, response(0))

    def _drop(self) -> None:
        if self._port is not None:
            self._port.disconnect()
        self._port = None
        self._call = None
        self._transfer_call = None
        if self._account is not None:
            self._account.shutdown()
        self._account = None

    async def _converse(self, access: Any) -> None:
        plan = self.plan
        deadline = self._started + plan.duration_s
        if not await _first(self._media_up, self._ended, within=plan.duration_s):
            return
        await self.pjsua.run(self._connect, access)
        listener = asyncio.ensure_future(self._listen())
        try:
            await asyncio.sleep(plan.after_answer_ms / 1000)
            if plan.dtmf:
                await self.pjsua.run(self._send_dtmf)
            for number, line in enumerate(plan.lines):
                barge = plan.barge_in_after_ms is not None and number > 0
                if barge:
                    await self._wait_talking(plan.barge_in_after_ms or 0, deadline)
                else:
                    await self._wait_turn(deadline)
                if self._ended.is_set():
                    return
                if barge:
                    self._barge_at = time.monotonic()
                await self._say(line)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ended.wait(), max(0.0, deadline - time.monotonic()))
            if self.summary.transferred_to:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._transfer_done.wait(), 10)
                await asyncio.sleep(0.5)  # stay a moment on the transferred call
        finally:
            listener.cancel()

    def _connect(self, access: Any) -> None:
        assert self._call is not None
        found = active_audio(self._call)
        if found is None:
            return
        self.pjsua.acquire_clock()
        self._port = self.pjsua.track(
            CallMediaPort.create("caller", self.uplink, self.ring, access)
        )
        self._port.connect(found[0])

    def _send_dtmf(self) -> None:
        assert self._call is not None
        self._call.sendDtmf(dtmf_param(self.plan.dtmf, self.plan.dtmf_method))

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        start, tick = loop.time(), 0
        while True:
            tick += 1
            await asyncio.sleep(max(0.0, start + tick * 0.02 - loop.time()))
            for frame in self.uplink.drain():
                self.heard += frame
                if rms_dbfs(frame) > _VOICE_DBFS:
                    self._on_voice()
                    self._quiet_frames = 0
                else:
                    self._on_quiet()

    def _on_quiet(self) -> None:
        """Five quiet frames (100 ms) after a barge-in: the far end stopped talking."""
        self._quiet_frames += 1
        waiting = self._barge_at and self.summary.silence_after_barge_in_ms is None
        if waiting and self._quiet_frames == 5:
            quiet_since = time.monotonic() - 0.1
            self.summary.silence_after_barge_in_ms = max(
                0, round((quiet_since - self._barge_at) * 1000)
            )

    def _on_voice(self) -> None:
        now = time.monotonic()
        self._voiced_frames += 1
        self._last_voice = now
        summary = self.summary
        if summary.ms_to_first_audio is None and self._answered_at:
            summary.ms_to_first_audio = round((now - self._answered_at) * 1000)
        if len(summary.turn_latency_ms) < len(self._line_ends):
            summary.turn_latency_ms.append(round((now - self._line_ends[-1]) * 1000))

    async def _wait_talking(self, ms: int, deadline: float) -> None:
        """Until the far end has been talking for ``ms`` since our last line ended."""
        started: float | None = None
        counted = self._voiced_frames
        while time.monotonic() < deadline and not self._ended.is_set():
            if started is None and self._voiced_frames > counted:
                started = time.monotonic()
            if started is not None and time.monotonic() - started >= ms / 1000:
                return
            await asyncio.sleep(0.02)

    async def _wait_turn(self, deadline: float) -> None:
        """Until the far end has spoken since our last line and then been quiet."""
        quiet = self.plan.quiet_ms / 1000
        spoken_before = self._voiced_frames
        give_up = min(deadline, time.monotonic() + self.plan.turn_timeout_s)
        while time.monotonic() < give_up and not self._ended.is_set():
            spoke = self._voiced_frames > spoken_before or not self._line_ends
            if spoke and self._last_voice and time.monotonic() - self._last_voice >= quiet:
                return
            await asyncio.sleep(0.05)

    async def _say(self, pcm: bytes) -> None:
        summary = self.summary
        summary.line_starts_ms.append(round((time.monotonic() - self._answered_at) * 1000))
        pad = (-len(pcm)) % FRAME_BYTES
        pcm += bytes(pad)
        for i in range(0, len(pcm), FRAME_BYTES):
            self.ring.push(pcm[i : i + FRAME_BYTES], "line", 0)
        summary.lines_played += 1
        while self.ring.queued_ms and not self._ended.is_set():  # noqa: ASYNC110  (clock thread drains it)
            await asyncio.sleep(0.02)
        self._line_ends = [*self._line_ends, time.monotonic()]

    async def _hangup(self) -> None:
        calls = [c for c in (self._transfer_call, self._call) if c is not None]

        def hang() -> None:
            for call in calls:
                if call.isActive():
                    call.hangup(response(0))

        if self._ended.is_set():
            await self.pjsua.run(hang)  # a transferred call may still be up
            return
        if self._call is None:
            return
        self.summary.hangup_by = "local"
        await self.pjsua.run(hang)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ended.wait(), 3)

    async def _summarise(self) -> None:
        summary = self.summary
        summary.received_seconds = round(len(self.heard) / 16000, 2)
        level = rms_dbfs(bytes(self.heard))
        summary.received_rms_dbfs = None if level == float("-inf") else round(level, 1)
        if self.plan.gateway_http and summary.sip_call_id:
            summary.transcript = await asyncio.to_thread(
                _fetch_transcript, self.plan.gateway_http, summary.sip_call_id
            )


async def _first(*events: asyncio.Event, within: float) -> bool:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return events[0].is_set()


def _fetch_transcript(base: str, sip_call_id: str, attempts: int = 20) -> list[str]:
    """The call's transcript from the gateway's ``/calls`` (the record lands just after BYE)."""
    url = f"{base.rstrip('/')}/calls?{urllib.parse.urlencode({'sip_call_id': sip_call_id})}"
    for _ in range(attempts):
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310  (operator-given URL)
                records = json.loads(answer.read())
            if records:
                return list(records[-1].get("transcript", []))
        time.sleep(0.25)
    return []
