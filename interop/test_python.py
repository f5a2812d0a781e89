#!/usr/bin/env python3
"""Interop: the Python `websockets` client (its asyncio API) against the real `ringsocket` daemon.

Started by run.sh, which generates the configuration, starts the daemon and passes:
  RS_WS_PORT   plain ws:// port on 127.0.0.1
  RS_WSS_PORT  wss:// port on 127.0.0.1 (default cert for 127.0.0.1, a second one for localhost)
  RS_CA        the test CA (PEM) that signed both certificates
  RS_ALLOWED_ORIGIN  an origin the chat endpoint allows
  RS_MAX_MSG   the configured max_ws_msg_size
  RS_ADMIN_PORT  the daemon's admin port (/metrics)

Every test runs over ws://127.0.0.1, wss://127.0.0.1 (no SNI: Python sends none to an IP
address, so the daemon must pick its default certificate) and wss://localhost (SNI).

`python3 test_python.py --hold` is the shutdown check: it connects, prints "holding", and
exits 0 only when the server closes the connection with 1001 (run.sh then sends SIGTERM).

Why asyncio and not websockets.sync: the sync client reads in one thread and writes in another
on the same TLS connection. Over TLS 1.3 (where the server sends session tickets after the
handshake) that occasionally loses data: about 0.2 % of its wss handshakes time out, and its
closing handshake drops the server's close frame about half the time ("The read operation
timed out" in its reader thread). TLS 1.2, plain ws://, the asyncio client and Node's `ws`
never showed either in thousands of tries against the same daemon, so the sync client is not
used here.
"""

import asyncio
import os
import ssl
import sys
import time
import traceback

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

WS_PORT = int(os.environ["RS_WS_PORT"])
WSS_PORT = int(os.environ["RS_WSS_PORT"])
CA = os.environ["RS_CA"]
ALLOWED_ORIGIN = os.environ["RS_ALLOWED_ORIGIN"]
MAX = int(os.environ.get("RS_MAX_MSG", "65536"))
TIMEOUT = 5

TLS = ssl.create_default_context(cafile=CA)

# (name, scheme://host:port, expected certificate common name or None)
TRANSPORTS = [
    ("ws", f"ws://127.0.0.1:{WS_PORT}", None),
    ("wss-ip-no-sni", f"wss://127.0.0.1:{WSS_PORT}", "default 127.0.0.1"),
    ("wss-localhost-sni", f"wss://localhost:{WSS_PORT}", "localhost"),
]


def open_ws(base, path, **kwargs):
    """Connects to base+path (await it, or use `async with`); always over 127.0.0.1 ("localhost"
    may resolve to ::1 first; SNI and Host stay "localhost")."""
    url = base + path
    kwargs.setdefault("open_timeout", TIMEOUT)
    kwargs.setdefault("close_timeout", TIMEOUT)
    kwargs.setdefault("max_size", 4 * MAX)
    if url.startswith("wss://"):
        kwargs["ssl"] = TLS
    if "://localhost:" in url:
        kwargs["host"] = "127.0.0.1"
    return connect(url, **kwargs)


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), TIMEOUT)


async def expect_close(ws, code):
    """Reads until the server closes; checks the code it sent. Returns the close frame."""
    try:
        async with asyncio.timeout(TIMEOUT):
            while True:
                await ws.recv()
    except ConnectionClosed as e:
        assert e.rcvd is not None, f"no close frame received (wanted {code}): {e!r}"
        assert e.rcvd.code == code, f"close code {e.rcvd.code} {e.rcvd.reason!r}, wanted {code}"
        return e.rcvd
    except TimeoutError:
        raise AssertionError(f"no close {code} within {TIMEOUT}s") from None


# ---------- tests: each takes a transport base URL ----------


async def t_tls_certificate(base, cn):
    ws = open_ws(base, "/echo")
    try:
        if cn is None:
            return
        subject = dict(x[0] for x in ws.socket.getpeercert()["subject"])
        assert subject["commonName"] == cn, f"certificate {subject}, wanted CN {cn!r}"
    finally:
        ws.close()


async def t_echo_text_and_binary(base, _):
    async with open_ws(base, "/echo") as ws:
        for msg in ["hello", "héllo wörld ✓ 笑", "", "x" * 1000]:
            await ws.send(msg)
            got = await recv(ws)
            assert got == msg and isinstance(got, str), f"text echo {got!r:.60}"
        for msg in [bytes(range(256)), b"", b"\x00\xff" * 500]:
            await ws.send(msg)
            got = await recv(ws)
            assert got == msg and isinstance(got, bytes), f"binary echo {got!r:.60}"


async def t_echo_fragmented(base, _):
    async with open_ws(base, "/echo") as ws:
        # An iterable sends one message as several frames (continuation frames after the first).
        await ws.send(["frag", "mented ", "text ✓", ""])
        assert await recv(ws) == "fragmented text ✓"
        parts = [bytes([i]) * 1000 for i in range(10)]
        await ws.send(parts)
        assert await recv(ws) == b"".join(parts)


async def t_near_max_msg_size(base, _):
    async with open_ws(base, "/echo") as ws:
        whole = os.urandom(MAX)
        await ws.send(whole)
        assert await recv(ws) == whole, "binary of exactly max_ws_msg_size"
        text = ("é" * (MAX // 2))  # 2 bytes each: exactly MAX bytes
        await ws.send(text)
        assert await recv(ws) == text, "text of exactly max_ws_msg_size"
        chunks = [whole[i : i + 4096] for i in range(0, MAX, 4096)]
        await ws.send(chunks)
        assert await recv(ws) == whole, "fragmented, exactly max_ws_msg_size"
        await ws.send(whole[:-1])
        assert await recv(ws) == whole[:-1]


async def t_over_max_msg_size_1009(base, _):
    # The daemon may close as soon as the frame header (or the running total of the
    # fragments) exceeds the limit, while the client is still sending: either way the client
    # must see 1009.
    for msg in [b"\x01" * (MAX + 1), [b"\x02" * 4096] * (MAX // 4096) + [b"\x03"]]:
        async with open_ws(base, "/echo") as ws:
            try:
                await ws.send(msg)
            except ConnectionClosed as e:
                assert e.rcvd is not None and e.rcvd.code == 1009, f"closed with {e.rcvd}"
                continue
            await expect_close(ws, 1009)


async def t_ping_pong(base, _):
    async with open_ws(base, "/echo") as ws:
        for payload in [b"", b"ping payload", bytes(range(125))]:
            pong = await ws.ping(payload)
            await asyncio.wait_for(pong, TIMEOUT)
        await ws.send("still fine")
        assert await recv(ws) == "still fine"


async def t_client_close_with_code_and_reason(base, _):
    for code, reason in [(1000, "done"), (4321, "bye ✓"), (3000, "")]:
        async with open_ws(base, "/echo") as ws:
            await ws.send("x")
            assert await recv(ws) == "x"
            await ws.close(code, reason)
            assert ws.protocol.close_sent.code == code
            rcvd = ws.protocol.close_rcvd
            assert rcvd is not None, "the server did not answer the close"
            assert rcvd.code == code, f"server answered close {code} with {rcvd.code}"


async def chat_recv(ws, *nicks):
    """The next chat message, skipping notices about other tests' clients (whose close the app
    may see after this test's clients connected)."""
    while True:
        msg = await recv(ws)
        if msg.startswith("* ") and not msg.startswith("* you are "):
            if not any(n in msg[2:].split(" ") for n in nicks):
                continue
        return msg


async def t_chat(base, _):
    async with open_ws(base, "/chat") as a:
        me_a = await recv(a)
        assert me_a.startswith("* you are guest"), me_a
        guest_a = me_a.split()[-1]
        b = await open_ws(base, "/chat")
        guest_b = (await recv(b)).split()[-1]
        ours = (guest_a, guest_b, "py-alice")
        assert await chat_recv(a, guest_b) == f"* {guest_b} joined"
        await a.send("npy-alice")
        assert await chat_recv(a, *ours) == f"* {guest_a} is now py-alice"
        assert await chat_recv(b, *ours) == f"* {guest_a} is now py-alice"
        await b.send("w")
        here = (await chat_recv(b, *ours)).split()
        assert here[0] == "!here" and {"py-alice", guest_b} <= set(here[1:]), here
        await b.send("npy-alice")
        assert await chat_recv(b, *ours) == "!taken py-alice"
        await b.send("mhello from python ✓")
        assert await chat_recv(a, *ours) == f"{guest_b}: hello from python ✓"
        # Fragmented command: the app gets one message.
        await a.send(["m", "frag", "mented"])
        assert await chat_recv(b, *ours) == "py-alice: fragmented"
        await b.close(1000, "leaving")
        assert await chat_recv(a, *ours) == f"* {guest_b} left"


async def t_chat_app_close_codes(base, _):
    cases = [
        ("nbad name", 4001),  # the app's own code (4000..4899): a nickname with a space
        ("", 4900),  # RingSocket's validation: empty message (no command byte)
        ("m", 4900),  # wrong size: no text after m
        (b"mbinary", 4901),  # wrong data kind: binary where the app reads text
        ("m" + "x" * 4097, 4900),  # a message over the app's 4096 bytes
        ("wx", 4900),  # `w` takes nothing after it
        ("zzz", 4902),  # unknown command byte
    ]
    for msg, code in cases:
        async with open_ws(base, "/chat") as ws:
            assert (await recv(ws)).startswith("* you are ")
            await ws.send(msg)
            frame = await expect_close(ws, code)
            print(f"      {msg!r:.12} -> close {frame.code} {frame.reason!r}")


async def t_silly_calc(base, _):
    zero = (0).to_bytes(4, "big") + (0).to_bytes(2, "big")
    # Each client's own request proves that the app knows it (records from different workers
    # are ordered only by when they were published), so b connects after a's answer.
    async with open_ws(base, "/calc") as a:
        await a.send(zero)
        assert await recv(a) == "笑笑?"
        async with open_ws(base, "/calc") as b:
            await b.send(zero)
            assert await recv(b) == "笑笑?"
            assert await recv(a) == (0).to_bytes(8, "big"), "a gets b's sum"
            req = (-7).to_bytes(4, "big", signed=True) + b"".join(
                x.to_bytes(2, "big") for x in [1, 65535, 3]
            )
            await a.send(req)
            assert await recv(a) == "笑笑?"
            got = await recv(b)
            assert got == (65532).to_bytes(8, "big", signed=True), got
    bad = [(b"\x00\x00\x00\x01", 4900), ("1234ab", 4901), (b"\x00" * 26, 4900)]
    for msg, code in bad:
        async with open_ws(base, "/calc") as ws:
            await ws.send(msg)
            await expect_close(ws, code)


async def refused_status(base, path, **kwargs):
    try:
        async with open_ws(base, path, **kwargs):
            pass
    except InvalidStatus as e:
        return e.response.status_code
    return 101


async def t_origin_and_path(base, _):
    status = await refused_status(base, "/chat", origin="http://not-allowed.example")
    assert status == 403, f"a disallowed Origin got {status}"
    for origin in [ALLOWED_ORIGIN, "null"]:
        async with open_ws(base, "/chat", origin=origin) as ws:
            assert (await recv(ws)).startswith("* you are ")
    status = await refused_status(base, "/nope")
    assert status == 404, f"an unknown path got {status}"


async def t_members_token_by_query_or_cookie(base, _):
    """The chat example's upgrade callback: /members needs a token (401 without, 403 for an
    unknown one); the token names the member."""
    assert await refused_status(base, "/members") == 401
    assert await refused_status(base, "/members?token=forged") == 403
    async with open_ws(base, "/members?token=interop-token") as ws:
        assert await recv(ws) == "* you are member1"
    cookie = {"Cookie": "lang=en; token=interop-token"}
    async with open_ws(base, "/members", additional_headers=cookie) as ws:
        assert await recv(ws) == "* you are member1"
    # A wrong token on the open endpoint is refused too; none makes a guest.
    assert await refused_status(base, "/chat?token=forged") == 403


async def t_c_auth_and_subprotocol(base, _):
    """The C example's upgrade callback (examples/auth_c): token, subprotocol, client data."""
    assert await refused_status(base, "/auth") == 401
    async with open_ws(base, "/auth?token=c-token", subprotocols=["other", "echo.v1"]) as ws:
        assert ws.subprotocol == "echo.v1", ws.subprotocol
        await ws.send("hi")
        assert await recv(ws) == "cuser: hi"
    async with open_ws(base, "/auth", additional_headers={"Cookie": "token=c-token"}) as ws:
        assert ws.subprotocol is None
        await ws.send(b"\x01")
        assert await recv(ws) == b"cuser: \x01"


async def t_tls_certificate(base, cn):
    async with open_ws(base, "/echo") as ws:
        if cn is None:
            return
        cert = ws.transport.get_extra_info("peercert")
        subject = dict(x[0] for x in cert["subject"])
        assert subject["commonName"] == cn, f"certificate {subject}, wanted CN {cn!r}"


def metric(name):
    """One sample of the daemon's /metrics (labels included in `name`)."""
    import urllib.request

    port = int(os.environ["RS_ADMIN_PORT"])
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(line.split()[-1])
    raise AssertionError(f"no metric {name}")


def count_compressed(ws):
    """Checks that `ws` negotiated permessage-deflate as the daemon answers by default (no
    context takeover either way) and counts the compressed frames (RSV1) it receives and sends
    from now on."""
    extensions = ws.protocol.extensions
    assert [e.name for e in extensions] == ["permessage-deflate"], f"negotiated {extensions}"
    ext = extensions[0]
    assert ext.remote_no_context_takeover, "the server keeps no context"
    assert ext.local_no_context_takeover, "the server asks the client to keep none"
    seen = {"in": 0, "out": 0}
    decode, encode = ext.decode, ext.encode

    def counting_decode(frame, *, max_size=None):
        seen["in"] += frame.rsv1
        return decode(frame, max_size=max_size)

    def counting_encode(frame):
        frame = encode(frame)
        seen["out"] += frame.rsv1
        return frame

    ext.decode, ext.encode = counting_decode, counting_encode
    return seen


async def t_permessage_deflate(base, _):
    """websockets offers permessage-deflate by default: the daemon accepts it, and compressed
    frames flow in both directions, from the echo app and from the chat app's broadcast."""
    async with open_ws(base, "/echo") as ws:
        seen = count_compressed(ws)
        before = metric('ringsocket_deflate_in_bytes_total{stage="after"}')
        message = '{"user":"alice","room":"general","text":"hello everyone"},' * 40
        await ws.send(message)
        assert await recv(ws) == message
        # Below the daemon's min_size (128 B) its answer goes plain.
        await ws.send("short")
        assert await recv(ws) == "short"
        assert seen["out"] >= 1, "websockets compressed nothing"
        assert seen["in"] == 1, f"compressed frames from the server: {seen['in']}, wanted 1"
        assert metric('ringsocket_deflate_in_bytes_total{stage="after"}') > before
    async with open_ws(base, "/chat") as a, open_ws(base, "/chat") as b:
        guest_a = (await recv(a)).split()[-1]
        guest_b = (await recv(b)).split()[-1]
        assert await chat_recv(a, guest_b) == f"* {guest_b} joined"
        seen = count_compressed(a)
        text = "compressed hello from python, " * 10
        await b.send("m" + text)
        assert await chat_recv(a, guest_a, guest_b) == f"{guest_b}: {text}"
        assert seen["in"] == 1, f"compressed chat lines: {seen['in']}, wanted 1"


TESTS = [
    t_tls_certificate,
    t_echo_text_and_binary,
    t_echo_fragmented,
    t_near_max_msg_size,
    t_over_max_msg_size_1009,
    t_ping_pong,
    t_client_close_with_code_and_reason,
    t_chat,
    t_chat_app_close_codes,
    t_silly_calc,
    t_origin_and_path,
    t_permessage_deflate,
    t_members_token_by_query_or_cookie,
    t_c_auth_and_subprotocol,
]


async def hold():
    """Shutdown check: every transport's connection must get 1001 on SIGTERM."""
    conns = [await open_ws(base, "/echo") for _, base, _ in TRANSPORTS]
    for ws in conns:
        await ws.send("hold")
        assert await recv(ws) == "hold"
    print("holding", flush=True)
    bad = 0
    for (name, _, _), ws in zip(TRANSPORTS, conns):
        try:
            await asyncio.wait_for(ws.recv(), 30)
            print(f"{name}: unexpected message")
            bad += 1
        except ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else None
            print(f"{name}: server closed with {code}")
            bad += code != 1001
        except TimeoutError:
            print(f"{name}: no close within 30 s")
            bad += 1
    return 1 if bad else 0


async def main():
    import websockets

    print(f"python {sys.version.split()[0]}, websockets {websockets.__version__} (asyncio)")
    passed = failed = 0
    for name, base, cn in TRANSPORTS:
        for test in TESTS:
            label = f"{name}: {test.__name__[2:]}"
            start = time.monotonic()
            try:
                await asyncio.wait_for(test(base, cn), 30)
                passed += 1
                print(f"ok   {label} ({time.monotonic() - start:.2f}s)", flush=True)
            except Exception:  # noqa: BLE001 - report every failure, keep going
                failed += 1
                print(f"FAIL {label}", flush=True)
                traceback.print_exc()
    print(f"python websockets: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(hold() if sys.argv[1:] == ["--hold"] else main()))
