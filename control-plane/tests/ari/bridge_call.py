"""Issue scenario 2 with PyPI asyncari: a baresip call comes in, the app answers it,
originates a second leg to another baresip, bridges both, checks that RTP flows both ways,
then hangs up the caller from ARI and ends the other leg when the first is gone."""
import math
import os

import anyio
import asyncari

URL = os.environ["ARI_URL"]
CALLEE = os.environ["CALLEE_ENDPOINT"]


def as_dict(x):
    return getattr(x, "json", x)


async def pump(ari, send):
    # asyncari wants every event consumed at once: queue them for the scenario.
    async for m in ari:
        await send.send(m)


async def main():
    async with asyncari.connect(URL, "bridging", "asterisk", "asterisk") as ari:
        send, events = anyio.create_memory_object_stream(math.inf)
        ari.taskgroup.start_soon(pump, ari, send)
        caller = None
        with anyio.fail_after(30):
            async for m in events:
                if m.type == "StasisStart" and m["channel"]["id"] != "callee-1" and caller is None:
                    caller = m["channel"]["id"]
                    await ari.channels.answer(channelId=caller)
                    await ari.channels.originate(endpoint=CALLEE, app="bridging", channelId="callee-1", timeout=10)
                elif m.type == "StasisStart" and m["channel"]["id"] == "callee-1":
                    assert m["channel"]["state"] == "Up", m["channel"]
                    await ari.bridges.create(bridgeId="call", type="mixing")
                    await ari.bridges.addChannel(bridgeId="call", channel=f"{caller},callee-1")
                    break
        await anyio.sleep(4)
        for ch in (caller, "callee-1"):
            stats = as_dict(await ari.channels.rtpstatistics(channelId=ch))
            print(ch, stats["rxcount"], stats["txcount"], stats["rxjitter"], stats["rxploss"])
            assert stats["rxcount"] > 100 and stats["txcount"] > 100, stats
            assert stats["rxploss"] == 0, stats
        await ari.channels.hangup(channelId=caller)
        with anyio.fail_after(10):
            async for m in events:
                if m.type == "StasisEnd" and m["channel"]["id"] == caller:
                    await ari.channels.hangup(channelId="callee-1")
                if m.type == "ChannelDestroyed" and m["channel"]["id"] == "callee-1":
                    break
    print("ok")


anyio.run(main)
