"""Function calls from the model: tools, handoffs, the phone built-ins, and approvals.

Every call gets exactly one ``function_call_output`` (deduplicated by ``call_id``, since both
``response.function_call_arguments.done`` and ``response.output_item.done`` announce it).
Tools run as tasks in the session's task group, so the read loop never waits for a tool.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Literal

import structlog

from gateway.core.agents.agent import FunctionTool, Handoff, RealtimeAgent, ToolArgumentsError
from gateway.core.agents.builtins import END_CALL, TRANSFER_CALL
from gateway.core.realtime.wire_client import ItemCreate, function_output_item
from gateway.runtime import events as ev
from gateway.runtime.tools import parse_arguments, run_tool

if TYPE_CHECKING:
    from gateway.runtime.session import RealtimeSession

__all__ = ["ApprovalPolicy", "Decision", "ToolDispatcher"]

log = structlog.get_logger()

Decision = Literal["approve", "reject", "ask_caller", "ask_app"]
ApprovalPolicy = Callable[
    [RealtimeAgent, FunctionTool, dict[str, Any]], Decision | Awaitable[Decision]
]
"""Decides whether a tool call may run. The default follows each tool's ``approval`` setting."""

_DEFAULT: dict[str, Decision] = {"none": "approve", "deny": "reject", "confirm": "ask_caller"}


def default_policy(_agent: RealtimeAgent, tool: FunctionTool, _args: dict[str, Any]) -> Decision:
    return _DEFAULT[tool.approval]


class ToolDispatcher:
    """Routes the model's function calls for one session."""

    def __init__(self, session: RealtimeSession, policy: ApprovalPolicy | None = None) -> None:
        self._s = session
        self.policy: ApprovalPolicy = policy or default_policy
        self.task_group: asyncio.TaskGroup | None = None
        self._seen: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._approvals: dict[str, tuple[str, asyncio.Future[bool]]] = {}
        self._always: dict[str, bool] = {}
        self._confirm_pending: set[str] = set()
        self._transfers: dict[str, str] = {}
        self._output_stopped = asyncio.Event()
        self._output_stopped.set()

    # ------------------------------------------------------------------------------- routing

    async def on_call(self, call_id: str, name: str, arguments: str) -> None:
        if call_id in self._seen:
            return
        self._seen.add(call_id)
        agent = self._s.agent
        target = next((h for h in agent.handoff_list() if h.tool_name == name), None)
        if target is not None:
            await self._handoff(call_id, target)
            return
        tool = next(
            (t for t in agent.tools if isinstance(t, FunctionTool) and t.name == name), None
        )
        if tool is None:
            await self.output(call_id, json.dumps({"error": f"unknown tool {name!r}"}))
            await self._s.request_response()
            return
        self._spawn(self._handle(call_id, agent, tool, arguments), f"tool:{name}:{call_id}")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        assert self.task_group is not None, "tools run inside RealtimeSession.run"
        task = self.task_group.create_task(
            _contained(coro, name), name=f"call:{self._s.context.call_id}:{name}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def output(self, call_id: str, output: str) -> None:
        """Send the one ``function_call_output`` for ``call_id``."""
        await self._s.send(ItemCreate(item=function_output_item(call_id, output)))

    async def _handoff(self, call_id: str, target: Handoff) -> None:
        log.info("handoff_started", to_agent=target.agent.name)
        await self.output(call_id, json.dumps({"assistant": target.agent.name}))
        await self._s.switch_agent(target.agent)
        await self._s.request_response()

    async def _handle(
        self, call_id: str, agent: RealtimeAgent, tool: FunctionTool, arguments: str
    ) -> None:
        if tool.builtin == END_CALL:
            await self._end_call(call_id, arguments)
        elif tool.builtin == TRANSFER_CALL:
            await self._transfer(call_id, tool, arguments)
        else:
            await self._run(call_id, agent, tool, arguments)

    # --------------------------------------------------------------------------------- tools

    async def _run(
        self, call_id: str, agent: RealtimeAgent, tool: FunctionTool, arguments: str
    ) -> None:
        try:
            args = parse_arguments(tool, arguments)
        except ToolArgumentsError:
            args = {}
        decision = await self._decide(agent, tool, args, call_id, arguments)
        if decision != "approve":
            await self.output(call_id, json.dumps(_refusal(decision, tool.name)))
            await self._s.request_response()
            return
        self._s.emit(ev.ToolStarted(agent.name, tool.name, call_id, args))
        outcome = await run_tool(tool, arguments, self._s.context)
        self._s.emit(
            ev.ToolEnded(
                agent.name, tool.name, call_id, outcome.output, outcome.ok, outcome.duration_s
            )
        )
        await self.output(call_id, outcome.output)
        if not tool.background:
            await self._s.request_response()

    async def _decide(
        self, agent: RealtimeAgent, tool: FunctionTool, args: dict[str, Any], call_id: str, raw: str
    ) -> Decision:
        if tool.name in self._always:
            return "approve" if self._always[tool.name] else "reject"
        decision = self.policy(agent, tool, args)
        if inspect.isawaitable(decision):
            decision = await decision
        if decision == "ask_caller":
            key = f"{tool.name}:{json.dumps(args, sort_keys=True)}"
            if key in self._confirm_pending:
                self._confirm_pending.discard(key)
                return "approve"
            self._confirm_pending.add(key)
            return "ask_caller"
        if decision == "ask_app":
            return "approve" if await self._ask_app(agent, tool, args, call_id) else "reject"
        return decision

    async def _ask_app(
        self, agent: RealtimeAgent, tool: FunctionTool, args: dict[str, Any], call_id: str
    ) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._approvals[call_id] = (tool.name, future)
        self._s.emit(ev.ToolApprovalRequested(agent.name, tool.name, call_id, args))
        try:
            return await asyncio.wait_for(future, self._s.settings.approval_timeout_s)
        except TimeoutError:
            return False
        finally:
            self._approvals.pop(call_id, None)

    def decide(self, call_id: str, *, approved: bool, always: bool) -> None:
        """The application's answer to a ToolApprovalRequested."""
        pending = self._approvals.get(call_id)
        if pending is None or pending[1].done():
            return
        tool, future = pending
        if always:
            self._always[tool] = approved
        future.set_result(approved)

    # ----------------------------------------------------------------------------- built-ins

    def spawn_guard(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a guardrail's follow-up (slow check, transfer, hang-up) as a session task."""
        self._spawn(coro, "guardrail")

    async def _end_call(self, call_id: str, arguments: str) -> None:
        try:
            reason = str(json.loads(arguments or "{}").get("reason") or "agent ended the call")
        except (ValueError, AttributeError):
            reason = "agent ended the call"
        await self.output(call_id, json.dumps({"status": "ending call"}))
        await self.end_call_after_playout(reason)

    async def end_call_after_playout(self, reason: str) -> None:
        """Hang up once what the agent is saying has been heard."""
        await self._s.wait_playout_done()
        log.info("end_call_requested", reason=reason)
        self._s.emit(ev.EndCallRequested(reason))

    async def _transfer(self, call_id: str, tool: FunctionTool, arguments: str) -> None:
        try:
            target = parse_arguments(tool, arguments)["target"]
        except (ToolArgumentsError, KeyError) as exc:
            await self.output(call_id, json.dumps({"error": f"invalid transfer: {exc}"}))
            await self._s.request_response()
            return
        await self.transfer_to(target, call_id)

    async def transfer_to(self, target: str, call_id: str = "") -> None:
        """Ask the phone layer to transfer once the agent's announcement has been heard.

        ``call_id`` is the model's function call (empty for transfers a guardrail started).
        """
        uri = self._s.settings.transfer_targets.get(target)
        if uri is None:
            log.error("transfer_target_unknown", target=target)
            if call_id:
                await self.output(call_id, json.dumps({"error": f"no transfer target {target!r}"}))
                await self._s.request_response()
            return
        self._transfers[call_id] = target
        await self._s.wait_playout_done()
        log.info("transfer_requested", target=target)
        self._s.emit(ev.TransferRequested(target, uri, call_id))

    async def transfer_finished(self, call_id: str, ok: bool, detail: str) -> None:
        """Report a transfer's outcome to the model; a failure gets a spoken response."""
        target = self._transfers.pop(call_id, None)
        if target is None:
            return
        status = "transferred" if ok else "failed"
        result = {"status": status, "target": target, "detail": detail}
        if call_id:
            await self.output(call_id, json.dumps(result))
        elif not ok:
            await self._s.send_system(f"Transfer to {target} failed ({detail}).", respond=False)
        if not ok:
            await self._s.request_response()

    # --------------------------------------------------------------------------- SIP playout

    @property
    def output_playing(self) -> bool:
        """Whether the server is playing audio (SIP: ``output_audio_buffer.started`` seen)."""
        return not self._output_stopped.is_set()

    def on_output_buffer(self, kind: str) -> None:
        if kind == "output_audio_buffer.started":
            self._output_stopped.clear()
        else:
            self._output_stopped.set()

    async def wait_output_stopped(self, timeout_s: float = 30.0) -> None:
        try:
            await asyncio.wait_for(self._output_stopped.wait(), timeout_s)
        except TimeoutError:
            log.warning("output_audio_buffer_stop_not_seen", timeout_s=timeout_s)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for _tool, future in self._approvals.values():
            if not future.done():
                future.set_result(False)


async def _contained(coro: Coroutine[Any, Any, None], name: str) -> None:
    """Run a session task so that its failure is logged, never fatal to the call."""
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug in one tool path must not end the whole call
        log.exception("session_task_failed", task=name, error=f"{type(exc).__name__}: {exc}")


def _refusal(decision: Decision, tool: str) -> dict[str, Any]:
    if decision == "ask_caller":
        return {
            "status": "needs_confirmation",
            "instruction": (
                f"Before running {tool}, tell the caller what you are about to do and ask them "
                "to confirm. If they agree, call it again with the same arguments."
            ),
        }
    return {"error": f"{tool} is not permitted here"}
