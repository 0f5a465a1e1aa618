"""Child process for test_endpoint.py: one PjsuaThread, exercised, results as one JSON line."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time

import pjsua2 as pj

from gateway.adapters.sip.endpoint import EndpointSettings, PjsuaThread
from gateway.app.loadtest_procs import schedstat


def thread_names() -> list[str]:
    names = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/comm") as f:
            names.append(f.read().strip())
    return names


async def main() -> None:
    pjsua = PjsuaThread(EndpointSettings(poll_ms=5000))
    await asyncio.to_thread(pjsua.start)  # as the gateway does, then registers the loop thread
    out: dict[str, object] = {"port": pjsua.sip_port, "codecs": pjsua.codecs}
    out["loop_registered_before"] = pjsua.endpoint.libIsThreadRegistered()
    pjsua.register_thread()
    out["loop_registered"] = pjsua.endpoint.libIsThreadRegistered()
    out["cmd_thread"] = await pjsua.run(lambda: threading.current_thread().name)
    out["registered"] = await pjsua.run(pjsua.endpoint.libIsThreadRegistered)
    await asyncio.sleep(0.5)
    start, wall = schedstat(os.getpid())[1], time.monotonic()
    await asyncio.sleep(3)
    out["idle_wakeups_per_s"] = (schedstat(os.getpid())[1] - start) / (time.monotonic() - wall)
    out["threads"] = sorted(thread_names())
    kept = pjsua.track(pj.AudioMediaPlayer())  # still referenced at stop: must be disowned
    began = time.monotonic()
    pjsua.stop(graceful=False)
    out["stop_s"] = time.monotonic() - began
    out["kept_owned"] = bool(kept.thisown)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
