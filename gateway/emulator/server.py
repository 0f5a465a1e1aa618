"""The emulator's WebSocket server: the I/O around :class:`EmulatedSession`.

``ws://HOST:PORT/v1/realtime?model=<model>`` opens a new session; ``?call_id=<id>`` attaches to a
call in the :class:`CallRegistry`. At the handshake a path other than ``/v1/realtime`` gets HTTP
404 and the ``refuse_connections`` fault its status (503 by default). A request without
``Authorization: Bearer <anything>`` is upgraded, then gets an ``error`` "Missing bearer or
basic authentication in header" and close code 3000, as a live capture showed. After the
upgrade, as the live API does, shape failures are an ``error`` event then close code 4000 with
reason ``<type>.<code>``: the beta header ``OpenAI-Beta: realtime=v1``
(``beta_api_shape_disabled``), no ``model`` (``missing_model``), both ``model`` and
``call_id``, an unknown ``call_id``.

In tests::

    async with EmulatorServer(scenario, pace=Pace(latency_ms=0)) as server:
        async with websockets.connect(server.url + "?model=gpt-realtime",
                                      additional_headers={"Authorization": "Bearer x"}) as ws:
            ...

The latency from the end of caller speech (``speech_stopped``) to the first audio delta sent
after it is logged as ``first_audio_sent`` with ``latency_ms``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from contextlib import nullcontext
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from gateway.emulator.events import Ids, error_event
from gateway.emulator.faults import Faults
from gateway.emulator.recognizer import Recognizer
from gateway.emulator.registry import CallRegistry, CallSlot
from gateway.emulator.response import Pace
from gateway.emulator.scenario import Scenario
from gateway.emulator.schema import ClientEventError
from gateway.emulator.session import Abort, Action, Close, EmulatedSession, Send, SessionOptions
from gateway.emulator.voice import Voice
from gateway.observability.logging import bind_call, get_logger

__all__ = ["EmulatorServer"]

PATH = "/v1/realtime"
MAX_MESSAGE_BYTES = 24 * 1024 * 1024  # a 15 MiB append, base64-encoded, in JSON
CLOSE_REQUEST_ERROR = 4000
CLOSE_AUTHENTICATION = 3000
MISSING_AUTH = "Missing bearer or basic authentication in header"
RECENT_SESSIONS = 64
BETA_MESSAGE = (
    "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
)


def _logger(**fields: Any) -> Any:
    # A fresh logger per use, so a structlog reconfiguration (capture_logs) always applies.
    return get_logger(component="emulator", **fields)


class EmulatorServer:
    """An offline Realtime API endpoint; start and stop it in-process or from the CLI.

    ``compression`` is what the handshake offers back: ``"deflate"`` (websockets' default)
    accepts a client's permessage-deflate offer, ``None`` declines it. Whether api.openai.com
    negotiates it is not documented; the openai-agents SDK offers it by default, voicegw's own
    client never does (base64 audio barely compresses), so it changes only other clients' CPU.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        pace: Pace | None = None,
        faults: Faults | None = None,
        max_session_s: float = 3600.0,
        seed: int | None = None,
        recognizer_factory: Callable[[Scenario], Recognizer] | None = None,
        voice_factory: Callable[[Scenario], Voice] | None = None,
        registry: CallRegistry | None = None,
        compression: Literal["deflate"] | None = "deflate",
    ) -> None:
        self.scenario = scenario or Scenario()
        self.faults = faults if faults is not None else self.scenario.faults
        self.registry = registry or CallRegistry()
        self.sessions: deque[EmulatedSession] = deque(maxlen=RECENT_SESSIONS)
        """The most recent sessions, oldest first (tests read their conversations)."""
        self._host, self._port = host, port
        self._pace = pace or Pace()
        self._max_session_s = max_session_s
        self._seed = seed
        self._recognizer_factory = recognizer_factory
        self._voice_factory = voice_factory
        self._compression = compression
        self._server: Server | None = None
        self._refused = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def url(self) -> str:
        """``ws://host:port/v1/realtime`` (add ``?model=...`` or ``?call_id=...``)."""
        return f"ws://{self._host}:{self.port}{PATH}"

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            self._host,
            self._port,
            process_request=self._check_handshake,
            max_size=MAX_MESSAGE_BYTES,
            compression=self._compression,
        )
        _logger().info("emulator_started", url=self.url, compression=self._compression)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            _logger().info("emulator_stopped")

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ handshake

    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path != PATH:
            return _http_error(connection, 404, "Not found.", "not_found")
        limit = self.faults.refuse_connections
        if limit == -1 or self._refused < limit:
            self._refused += 1
            status = self.faults.refuse_status
            _logger().info("connection_refused", status=status, fault="refuse_connections")
            return _http_error(connection, status, "The server is overloaded.", "server_busy")
        return None

    # ------------------------------------------------------------------ connection

    async def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None  # the handshake is done when the handler runs
        query = parse_qs(urlsplit(request.path).query)
        model, call_id = query.get("model", [None])[0], query.get("call_id", [None])[0]
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth.removeprefix("Bearer ").strip():
            await _refuse(connection, ClientEventError(MISSING_AUTH), CLOSE_AUTHENTICATION)
            return
        try:
            if request.headers.get("OpenAI-Beta", "").strip().lower() == "realtime=v1":
                raise ClientEventError(BETA_MESSAGE, code="beta_api_shape_disabled")
            slot, session = self._session_for(model, call_id)
        except ClientEventError as exc:
            await _refuse(connection, exc)
            return
        try:
            with bind_call(call_id, transport="emulator") if call_id else nullcontext():
                if slot is not None and slot.driver is not None:
                    await slot.driver.serve(connection)  # a SIP call's session runs on its own
                else:
                    await _Driver(connection, session).run()
        finally:
            if slot is not None:
                slot.attached = False

    def _session_for(
        self, model: str | None, call_id: str | None
    ) -> tuple[CallSlot | None, EmulatedSession]:
        if model and call_id:
            raise ClientEventError(
                "Cannot specify both 'model' and 'call_id'.", code="invalid_request"
            )
        if call_id:
            return self._attach(call_id)
        if not model:
            raise ClientEventError(
                "You must provide a model parameter, for example "
                "wss://api.openai.com/v1/realtime?model=gpt-realtime",
                code="missing_model",
            )
        return None, self._new_session(model, None)

    def _attach(self, call_id: str) -> tuple[CallSlot, EmulatedSession]:
        slot = self.registry.get(call_id)
        if slot is None:
            raise ClientEventError(f"Call '{call_id}' was not found.", code="call_not_found")
        if slot.attached:
            raise ClientEventError(
                f"Call '{call_id}' already has a connected session.", code="call_already_attached"
            )
        if slot.session is None:
            slot.session = self._new_session(slot.model, slot.accepted)
        slot.attached = True
        return slot, slot.session

    def call_session(self, accepted: dict[str, Any]) -> EmulatedSession:
        """A SIP call's session, configured as the call was accepted (the SIP front's)."""
        return self._new_session(str(accepted.get("model") or "gpt-realtime"), accepted, sip=True)

    def _new_session(
        self, model: str, accepted: dict[str, Any] | None, *, sip: bool = False
    ) -> EmulatedSession:
        scenario = self.scenario
        options = SessionOptions(
            model=model,
            scenario=scenario,
            pace=self._pace,
            faults=self.faults,
            max_duration_s=self._max_session_s,
            seed=self._seed,
            initial=accepted,
            recognizer=self._recognizer_factory(scenario) if self._recognizer_factory else None,
            voice=self._voice_factory(scenario) if self._voice_factory else None,
            sip=sip,
        )
        loop = asyncio.get_running_loop()
        session = EmulatedSession(options, now=loop.time(), unix_time=time.time())
        self.sessions.append(session)
        return session


class _Driver:
    """Runs one connection: messages and timer ticks into the session, actions out."""

    def __init__(self, connection: ServerConnection, session: EmulatedSession) -> None:
        self._connection = connection
        self._session = session
        self._loop = asyncio.get_running_loop()
        self._speech_end: float | None = None
        self._received_at = self._loop.time()
        self._log = _logger(session_id=session.id)

    async def run(self) -> None:
        self._log.info("session_opened", model=self._session.config.model)
        reason = "client closed"
        try:
            if await self._perform(self._session.open(self._loop.time())):
                reason = await self._loop_until_closed()
            else:
                reason = "server closed"
        except ConnectionClosed:
            pass
        self._log.info("session_closed", reason=reason)

    async def _loop_until_closed(self) -> str:
        while True:
            try:
                async with asyncio.timeout_at(self._session.next_deadline()):
                    message = await self._connection.recv()
            except TimeoutError:
                actions = self._session.tick(self._loop.time())
            else:
                self._received_at = self._loop.time()  # before recognition runs in receive()
                actions = self._session.receive(message, self._received_at)
            if not await self._perform(actions):
                return "server closed"

    async def _perform(self, actions: list[Action]) -> bool:
        """Carry out ``actions``; ``False`` once the connection is closed or dropped."""
        for action in actions:
            if isinstance(action, Send):
                self._observe(action.event)
                await self._connection.send(json.dumps(action.event))
            elif isinstance(action, Close):
                await self._connection.close(action.code, action.reason)
                return False
            elif isinstance(action, Abort):
                self._log.info("connection_dropped", fault="drop_after_s")
                self._connection.transport.abort()
                return False
        return True

    def _observe(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "input_audio_buffer.speech_stopped":
            self._speech_end = self._received_at
        elif kind == "conversation.item.input_audio_transcription.completed":
            self._log.info("caller_heard", transcript=event["transcript"])
        elif kind == "response.output_audio_transcript.done":
            self._log.info("agent_said", transcript=event["transcript"])
        elif kind == "response.output_audio.delta" and self._speech_end is not None:
            latency_ms = round((self._loop.time() - self._speech_end) * 1000, 1)
            self._log.info(
                "first_audio_sent", latency_ms=latency_ms, response_id=event["response_id"]
            )
            self._speech_end = None
        elif kind == "error":
            self._log.info(
                "error_sent", code=event["error"]["code"], message=event["error"]["message"]
            )


async def _refuse(
    connection: ServerConnection, exc: ClientEventError, close_code: int = CLOSE_REQUEST_ERROR
) -> None:
    """An ``error`` event, then close with reason ``<type>.<code>`` (``<type>`` if no code)."""
    _logger().info("connection_refused", code=exc.code, message=exc.message)
    event = error_event(Ids(), exc, None)
    reason = exc.kind if exc.code is None else f"{exc.kind}.{exc.code}"
    try:
        await connection.send(json.dumps(event))
        await connection.close(close_code, reason)
    except ConnectionClosed:
        pass


def _http_error(
    connection: ServerConnection,
    status: int,
    message: str,
    code: str | None,
    kind: str = "server_error",
) -> Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    response = connection.respond(status, json.dumps(body) + "\n")
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    if status == 503:
        response.headers["Retry-After"] = "1"
    return response
