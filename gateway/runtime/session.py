"""One call's Realtime session: connection, protocol, agent graph, tools, guardrails, reconnect.

Run it inside the call's task group::

    session = RealtimeSession(agent, ctx, connector, settings, playout=ring)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(session.run(), name=f"call:{ctx.call_id}:realtime")
        async for event in session.events():
            ...

``run`` connects, configures the session for the entry agent, greets, then reads server events
until :meth:`close` (or the model is gone for good: :class:`SessionFailed`). A dropped socket is
reconnected with backoff, re-configured and re-seeded with the history as text.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator

import structlog

from gateway.core.agents.agent import CallContext, RealtimeAgent
from gateway.core.agents.session_config import agent_update, initial_session
from gateway.core.realtime import wire as w
from gateway.core.realtime.actions import (
    Action,
    AudioInterrupted,
    Deliver,
    FlushPlayout,
    FormatMismatch,
    PlayAudio,
    SendEvent,
)
from gateway.core.realtime.history import ConversationHistory, HistoryItem
from gateway.core.realtime.protocol import ResponseState, SessionProtocol
from gateway.core.realtime.wire_client import (
    ClientEvent,
    InputAudioClear,
    ItemCreate,
    OutputAudioBufferClear,
    ResponseParams,
    SessionConfig,
    SessionUpdate,
    append_audio_json,
    encode_client_event,
    system_text_item,
    user_text_item,
)
from gateway.errors import RemoteProtocolError
from gateway.runtime import events as ev
from gateway.runtime.dispatch import ToolDispatcher
from gateway.runtime.guards import GuardrailRunner
from gateway.runtime.ports import (
    Connection,
    ConnectionLost,
    Connector,
    PlayoutSink,
    SessionSettings,
)
from gateway.runtime.reactions import ServerEventReactions
from gateway.runtime.reconnect import ConnectionKeeper

__all__ = ["RealtimeSession"]

log = structlog.get_logger()

_EVENT_QUEUE = 1000


class RealtimeSession:
    """The runtime of one call over one Realtime session (reconnects keep the same object)."""

    def __init__(
        self,
        agent: RealtimeAgent,
        context: CallContext,
        connector: Connector,
        settings: SessionSettings | None = None,
        *,
        playout: PlayoutSink | None = None,
    ) -> None:
        self.settings = settings or SessionSettings()
        self.context = context
        self.agent = agent
        self.history = ConversationHistory()
        self.history.agent = agent.name
        self.usage: dict[str, int] = {}
        """Tokens used so far, summed over ``response.done`` events."""
        self._conn: Connection | None = None
        self._playout = playout
        self._codec = self.settings.defaults.audio_format
        self._protocol = SessionProtocol(self._codec, server_owns_playout=self.settings.sip_attach)
        self._events: asyncio.Queue[ev.SessionEvent | None] = asyncio.Queue(_EVENT_QUEUE)
        self._closing = False
        self._muted = False
        self._audio_started = False
        self._voice = agent.voice or self.settings.defaults.voice
        self._connected_at = 0.0
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._dropped_events = 0
        self._recycle_task: asyncio.Task[None] | None = None
        self._last_cut: AudioInterrupted | None = None
        self.tools = ToolDispatcher(self)
        self.guards = GuardrailRunner(self)
        self._reactions = ServerEventReactions(self)
        self._keeper = ConnectionKeeper(self, connector)

    # ------------------------------------------------------------------------------ public API

    async def events(self) -> AsyncIterator[ev.SessionEvent]:
        """Session events until the session ends."""
        while True:
            event = await self._events.get()
            if event is None:  # closed
                return
            yield event
            if isinstance(event, ev.SessionFailed):
                return

    async def wait_ready(self) -> None:
        """Return once the session is connected and configured."""
        await self._ready.wait()

    async def run(self) -> None:
        """Connect, configure, greet, then handle server events until closed or failed."""
        try:
            await self._connect_first()
        except ConnectionLost as exc:
            if not self._closing:
                self._emit(ev.SessionFailed(f"cannot connect: {exc}"))
            return
        async with asyncio.TaskGroup() as tg:
            self.tools.task_group = tg
            self._recycle_task = tg.create_task(
                self._keeper.recycle(), name=f"call:{self.context.call_id}:recycle"
            )
            await self._read_loop()
            await self.close()

    async def close(self) -> None:
        """End the session: stop reading, cancel tool calls, close the socket."""
        if self._closing:
            return
        self._closing = True
        self._idle.set()
        self.tools.cancel_all()
        self._keeper.cancel_open()
        if self._recycle_task is not None:
            self._recycle_task.cancel()
        if self._events.full():
            self._events.get_nowait()
        self._events.put_nowait(None)
        if self._conn is not None:
            await self._conn.close()

    async def send_audio(self, audio: bytes) -> None:
        """Caller audio in the session's input codec (ignored while muted)."""
        if self._muted or self._conn is None or not self._ready.is_set():
            return
        with contextlib.suppress(ConnectionLost):  # the read loop notices and reconnects
            await self._conn.send(append_audio_json(base64.b64encode(audio).decode("ascii")))

    async def send_message(self, text: str, *, respond: bool = True) -> None:
        """Add a caller text message (e.g. DTMF as words) and, by default, ask for a response."""
        await self._send(ItemCreate(item=user_text_item(text)))
        if respond:
            await self.request_response()

    async def send_system(self, text: str, *, respond: bool = True) -> None:
        """Add a system note for the model (steering, tool results that arrive late ...)."""
        await self._send(ItemCreate(item=system_text_item(text)))
        if respond:
            await self.request_response()

    async def update_history(self, items: list[HistoryItem]) -> None:
        """Make the conversation hold exactly ``items`` (by ``item_id``), in that order.

        Items no longer listed are deleted on the server; listed items the server does not
        have (new ids) are created as text, in order, after the last kept item.
        """
        for event in self.history.sync_to(items):
            await self._send(event)

    async def say(self, text: str) -> None:
        """Make the agent say ``text`` verbatim (greeting, prompts, guardrail messages)."""
        await self.request_response(ResponseParams(instructions=f"Say exactly: {text}"))

    async def request_response(self, params: ResponseParams | None = None) -> None:
        await self._run_actions(self._protocol.request_response(params))

    async def interrupt(self, cause: str = "interrupt") -> int | None:
        """Stop the agent now: flush playout, truncate what was not heard, cancel.

        Returns how many ms of the cut item the caller heard (None if unknown or nothing).
        """
        self._last_cut = None
        active = self._protocol.state is not ResponseState.IDLE
        playing = self.tools.output_playing  # SIP: the server may still play a done response
        await self._run_actions(self._protocol.interrupt(cause))
        if self.settings.sip_attach and (active or playing):
            await self._send(OutputAudioBufferClear())
        return self._last_cut.audio_end_ms if self._last_cut else None

    async def mute(self, muted: bool = True) -> None:
        """Stop (or resume) sending caller audio; muting clears the server's input buffer."""
        self._muted = muted
        if muted and self._ready.is_set():
            await self._send(InputAudioClear())

    async def update_agent(self, agent: RealtimeAgent) -> None:
        """Switch to ``agent`` (a handoff without a tool call)."""
        await self.switch_agent(agent)

    async def send_dtmf(self, digits: str) -> None:
        """Keypad digits from the caller, delivered to the agent as a message."""
        self._emit(ev.DtmfEvent(digits))
        await self.send_message(f"[The caller pressed {' '.join(digits)} on the keypad]")

    async def approve(self, call_id: str, *, always: bool = False) -> None:
        self.tools.decide(call_id, approved=True, always=always)

    async def reject(self, call_id: str, *, always: bool = False) -> None:
        self.tools.decide(call_id, approved=False, always=always)

    async def transfer_result(self, call_id: str, ok: bool, detail: str = "") -> None:
        """The phone layer reports a transfer's outcome; on failure the agent tells the caller."""
        await self.tools.transfer_finished(call_id, ok, detail)

    # ------------------------------------------------------------------- used by the helpers

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def connection(self) -> Connection | None:
        return self._conn

    @property
    def connection_age_s(self) -> float:
        return time.monotonic() - self._connected_at

    @property
    def protocol(self) -> SessionProtocol:
        return self._protocol

    @property
    def playout(self) -> PlayoutSink | None:
        return self._playout

    def emit(self, event: ev.SessionEvent) -> None:
        self._emit(event)

    async def send(self, event: ClientEvent) -> None:
        await self._send(event)

    def lock_voice(self) -> None:
        """The caller has heard the agent: the voice can no longer change."""
        self._audio_started = True

    async def drop_connection(self) -> None:
        """Close the socket; the read loop reconnects and replays the history."""
        if self._conn is not None:
            await self._conn.close()

    async def switch_agent(self, agent: RealtimeAgent) -> None:
        """Make ``agent`` current and update the session sparsely (formats untouched)."""
        previous = self.agent
        wanted = agent.voice or self.settings.defaults.voice
        voice = None
        if wanted != self._voice:
            if self._audio_started:
                log.info("voice_kept", wanted=wanted, voice=self._voice, why="voice is locked")
            else:
                voice = self._voice = wanted
        self.agent = agent
        self.history.agent = agent.name
        self.guards.set_agent(agent)
        await self._send(SessionUpdate(session=agent_update(agent, self.context, voice=voice)))
        self._emit(ev.AgentEnded(previous.name))
        self._emit(ev.HandoffDone(previous.name, agent.name))
        self._emit(ev.AgentStarted(agent.name))

    async def wait_playout_done(self, response_id: str | None = None) -> None:
        """Return once the current response is done and its audio has been heard."""
        await self._idle.wait()
        if self.settings.sip_attach:
            await self.tools.wait_output_stopped()
            return
        # pjmedia's clock thread drains the sink; polling at frame rate here avoids a
        # cross-thread wakeup per frame there
        while self._playout is not None and self._playout.pending_ms() > 0 and not self._closing:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        if self._playout is not None:
            self._protocol.sync_played(self._playout.take_played())

    # -------------------------------------------------------------------------------- internals

    def _emit(self, event: ev.SessionEvent) -> None:
        try:
            self._events.put_nowait(event)
        except asyncio.QueueFull:
            self._dropped_events += 1
            if self._dropped_events == 1:
                log.warning("session_events_dropped", queue=_EVENT_QUEUE)

    async def _send(self, event: ClientEvent) -> None:
        await self._send_action(self._protocol.send(event))

    async def _send_action(self, action: SendEvent) -> None:
        if self._conn is None:
            return
        log.debug("> " + action.event.type, event_id=action.event_id)
        try:
            await self._conn.send(encode_client_event(action.event, action.event_id))
        except ConnectionLost:
            log.info("send_failed_connection_lost", type=action.event.type)

    def _full_session(self) -> SessionConfig:
        return initial_session(
            self.agent,
            self.settings.defaults,
            self.context,
            tracing=self.settings.tracing,
            sip_accept=self.settings.sip_attach,
        )

    async def _configure(self) -> None:
        session = self._full_session()
        if self.settings.sip_attach:
            # accept carried the full configuration; only change what differs (sparse)
            session = agent_update(self.agent, self.context)
        self._protocol.expect_session(session.model_dump(mode="json", exclude_unset=True))
        await self._send(SessionUpdate(session=session))

    async def _connect_first(self) -> None:
        self._conn = await self._keeper.open()
        self._connected_at = time.monotonic()
        self.guards.set_agent(self.agent)
        await self._configure()
        self._ready.set()
        self._emit(ev.AgentStarted(self.agent.name))
        greeting = self.settings.greeting
        if greeting:
            from gateway.core.agents.spec import render_placeholders  # noqa: PLC0415

            await self.say(render_placeholders(greeting, self.context.placeholders()))
        else:
            await self.request_response()

    async def _read_loop(self) -> None:
        while not self._closing:
            conn = self._conn
            assert conn is not None
            try:
                raw = await conn.recv()
            except ConnectionLost as exc:
                if self._closing:
                    return
                if conn is not self._conn:
                    continue  # recycled: the new connection is already in place
                if exc.final or not await self._keeper.reconnect(str(exc)):
                    self._emit(ev.SessionFailed(f"connection lost: {exc}"))
                    return
                continue
            await self._on_raw(raw)

    async def _on_raw(self, raw: str | bytes) -> None:
        try:
            event = w.parse_server_event(raw)
        except RemoteProtocolError as exc:
            log.warning("server_event_rejected", error=str(exc))
            return
        if isinstance(event, w.UnknownServerEvent):
            log.debug("server_event_ignored", type=event.type)
            return
        if isinstance(event, w.SpeechStarted) and self._playout is not None:
            # decide barge-in on what was really played: a finished answer is not interrupted
            self._protocol.sync_played(self._playout.take_played())
        await self._run_actions(self._protocol.receive(event))

    async def _run_actions(self, actions: list[Action]) -> None:
        await self._carry_out(actions)
        if self._protocol.state is ResponseState.IDLE:
            self._idle.set()
        else:
            self._idle.clear()

    async def _carry_out(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, PlayAudio):
                self._play(action)
            elif isinstance(action, SendEvent):
                await self._send_action(action)
            elif isinstance(action, FlushPlayout):
                played = self._playout.flush() if self._playout is not None else {}
                await self._carry_out(self._protocol.playout_flushed(played))
            elif isinstance(action, AudioInterrupted):
                self._last_cut = action
                fraction = self._protocol.last_cut_fraction
                if action.item_id is not None and fraction is not None:
                    self.history.cut(action.item_id, fraction)
                self._emit(
                    ev.AudioInterruptedEvent(action.item_id, action.audio_end_ms, action.cause)
                )
            elif isinstance(action, FormatMismatch):
                self._on_format_mismatch(action)
            elif isinstance(action, Deliver):
                await self._reactions.handle(action.event)

    def _play(self, action: PlayAudio) -> None:
        self._audio_started = True
        if self._playout is not None:
            self._playout.push(action.item_id, action.audio)
        else:
            self._emit(ev.AudioChunk(action.item_id, action.response_id, action.audio))

    def _on_format_mismatch(self, action: FormatMismatch) -> None:
        message = f"server ignored {action.field}: asked {action.requested}, got {action.effective}"
        log.error("session_format_mismatch", field=action.field, effective=str(action.effective))
        self._emit(ev.ErrorOccurred("format_mismatch", message, fatal=False))

    # ------------------------------------------------------------------------------ reconnect

    async def adopt(self, conn: Connection, attempts: int) -> None:
        """Start over on ``conn``: configure, replay the history, answer a pending turn."""
        self._conn = conn
        self._connected_at = time.monotonic()
        if self._playout is not None:
            self._playout.flush()
        self._protocol.reset()
        self._idle.set()
        replayed = 0
        if not self.settings.sip_attach:
            await self._send(SessionUpdate(session=self._full_session()))
            creates = self.history.replay_events()
            for create in creates:
                await self._send(create)
            replayed = len(creates)
        items = self.history.items
        if items and items[-1].role in ("user", "tool"):
            await self.request_response()
        log.info("realtime_reconnected", attempts=attempts, replayed=replayed)
        self._emit(ev.Reconnected(attempts, replayed))

    def quiet(self) -> bool:
        """No response under way and nothing left to play: a good moment to switch sockets."""
        idle = self._protocol.state is ResponseState.IDLE
        return idle and (self._playout is None or self._playout.pending_ms() == 0)
