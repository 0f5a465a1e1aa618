"""Child process for test_endpoint.py: SIP answered while a slow command holds the call slots.

A retired object falls due while a command runs (a ``makeCall`` resolving a host name can take
seconds); the poll thread, which reads all SIP and RTP, must not wait for that command to
bury it. Prints one JSON line: how long two OPTIONS took to be answered meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import time

import pjsua2 as pj

from gateway.adapters.sip.endpoint import EndpointSettings, PjsuaThread
from tests.adapters.sip.rawsip import RawSip


def options_answered_s(port: int) -> float | None:
    """Seconds until an OPTIONS to ``port`` got a response (None: none within 5 s)."""
    raw, tag = RawSip(), time.time_ns()
    try:
        started = time.monotonic()
        raw.send(
            f"OPTIONS sip:probe@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{raw.port};branch=z9hG4bK{tag}\r\n"
            f"From: <sip:test@127.0.0.1>;tag={tag}\r\nTo: <sip:probe@127.0.0.1>\r\n"
            f"Call-ID: {tag}@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n",
            port,
        )
        answered = raw.receive(5)
        return None if answered is None else time.monotonic() - started
    finally:
        raw.close()


async def main() -> None:
    pjsua = PjsuaThread(EndpointSettings(poll_ms=1000))
    await asyncio.to_thread(pjsua.start)
    slow = asyncio.ensure_future(pjsua.run(time.sleep, 2.0))  # holds the slots for 2 s
    await asyncio.sleep(0.1)
    pjsua.retire(pjsua.track(pj.AudioMediaPlayer()))
    await asyncio.sleep(0.2)  # now due: the next poll wants to bury it
    answered = [await asyncio.to_thread(options_answered_s, pjsua.sip_port) for _ in range(2)]
    await slow
    pjsua.stop(graceful=False)
    print(json.dumps({"answered_s": answered}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
