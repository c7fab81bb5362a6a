#!/usr/bin/env python3
"""A stand-in imxd for test_summary_cli.sh: answers hello and period.summary
over nng's REQ/REP on TCP (the SP handshake, 64-bit length, the request's
4-byte id echoed back), with two pages of one cost centre each. Mode
"moved": the period closes between the pages, so a second page asked
without a period is the next period's and one asked with the first page's
label is that period closed. Mode "steady": nothing closes. Mode "slow":
period.close is answered after 10.5 s, as imxd answers a close whose calls
clear deep books (imx waits for it, past its usual 10 s). Prints the
port, then each request's type/period/start to stderr; stops at end of
stdin or after 60 s. usage: fake_summary.py MODE"""
import json, socket, struct, sys, threading, time

mode = sys.argv[1]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4)
print(srv.getsockname()[1], flush=True)


def row(cc, spent, is_open):
    r = {"cc": cc, "budget": 10000, "spent": spent, "earned": 0}
    if is_open:
        r.update(reserved=0, available=10000 - spent)
    return r


def answer(rq):
    rid = rq.get("id", "")
    t = rq.get("type")
    if t == "hello":
        return {"v": 1, "type": "hello.ok", "id": rid, "cc": "CC-9000", "roles": ["finance"],
                "currency": "EUR", "decimals": 2}
    if t == "period.close" and mode == "slow":
        time.sleep(10.5)
        return {"v": 1, "type": "period.close.ok", "id": rid, "expired": 0,
                "period": "2026-12", "opened": "2027-01", "services": [], "over_budget": []}
    if t != "period.summary":
        return {"v": 1, "type": "error", "id": rid, "code": "internal", "field": "",
                "message": "not in this stand-in"}
    start, period = rq.get("start"), rq.get("period")
    ok = {"v": 1, "type": "period.summary.ok", "id": rid, "services": []}
    if start is None:
        ok.update(period="2026-12", open=True, ccs=[row("CC-1", 2500, True)], next="CC-2")
    elif mode == "moved" and period is None:
        ok.update(period="2027-01", open=True, ccs=[row("CC-2", 0, True)])
    elif mode == "moved":
        ok.update(period="2026-12", open=False, ccs=[row("CC-2", 7000, False)])
    else:
        ok.update(period="2026-12", open=True, ccs=[row("CC-2", 7000, True)])
    return ok


def recv_all(c, n):
    b = b""
    while len(b) < n:
        part = c.recv(n - len(b))
        if not part:
            raise EOFError
        b += part
    return b


def serve(c):
    try:
        c.sendall(b"\x00SP\x00" + struct.pack(">H", 0x31) + b"\x00\x00")  # REP v0
        recv_all(c, 8)
        while True:
            n = struct.unpack(">Q", recv_all(c, 8))[0]
            msg = recv_all(c, n)
            head, body = msg[:4], json.loads(msg[4:])
            print(body.get("type"), body.get("period", "-"), body.get("start", "-"),
                  file=sys.stderr, flush=True)
            out = head + json.dumps(answer(body), separators=(",", ":")).encode()
            c.sendall(struct.pack(">Q", len(out)) + out)
    except (EOFError, OSError, ValueError):
        pass
    finally:
        c.close()


def accept():
    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()
t = threading.Thread(target=sys.stdin.read, daemon=True)
t.start()
t.join(60)
