"""A real POP3 client session with Python's poplib, for pop3adapter tests.

Usage: poplib_client.py MODE HOST PORT USER PASSWORD
Prints one JSON object with what the client saw. Bodies are hex-encoded,
lines joined with CRLF as poplib returns them (dot-stuffing undone).
MODE: "full" (USER/PASS, STAT, LIST, UIDL, TOP, RETR all, DELE, RSET,
DELE, QUIT), "plain" (AUTH PLAIN via _shortcmd), "stls" (STLS via stls(),
then USER/PASS), "dele-all" (delete everything, QUIT).
"""
import base64
import json
import poplib
import ssl
import sys

mode, host, port, user, password = sys.argv[1:6]
out = {}
p = poplib.POP3(host, int(port), timeout=60)
out["welcome"] = p.getwelcome().decode()
out["capa"] = sorted(p.capa().keys())

if mode == "stls":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out["stls"] = p.stls(ctx).decode()
    out["capa_tls"] = sorted(p.capa().keys())

if mode == "plain":
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    out["auth"] = p._shortcmd("AUTH PLAIN " + token).decode()
else:
    out["user"] = p.user(user).decode()
    out["pass"] = p.pass_(password).decode()

out["stat"] = list(p.stat())
resp, lines, octets = p.list()
out["list"] = [l.decode() for l in lines]
resp, lines, octets = p.uidl()
out["uidl"] = [l.decode() for l in lines]

if mode == "full":
    out["list_1"] = p.list(1).decode()
    out["uidl_1"] = p.uidl(1).decode()
    resp, lines, octets = p.top(1, 0)
    out["top_1_0"] = b"\r\n".join(lines).hex()
    out["retr"] = []
    for i in range(1, out["stat"][0] + 1):
        resp, lines, octets = p.retr(i)
        out["retr"].append({"resp": resp.decode(), "body": b"\r\n".join(lines).hex(), "octets": octets})
    out["dele_1"] = p.dele(1).decode()
    out["rset"] = p.rset().decode()
    out["dele_2"] = p.dele(2).decode()
    try:
        p.retr(2)
    except poplib.error_proto as e:
        out["retr_deleted"] = e.args[0].decode()
elif mode == "dele-all":
    for i in range(1, out["stat"][0] + 1):
        p.dele(i)

out["quit"] = p.quit().decode()
print(json.dumps(out))
