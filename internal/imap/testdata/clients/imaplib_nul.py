"""NUL octets in APPEND with Python's imaplib against the server at argv[1].

RFC 9051 §4.3 allows no NUL in a literal; literal8 (RFC 3516) is for that.
Dovecot 2.3.19 takes NUL in a plain literal too, and so does Gatehouse: a
message is never lost for it. Both kinds must then be stored the same way
and read back the same way: BODY[...] without NUL (the part presented
base64-encoded), BINARY[1] the octets appended, BINARY.SIZE the size of
what BINARY sends. Prints one line per check; exits non-zero on the first
failure.
"""
import imaplib
import re
import sys

host, port = sys.argv[1].rsplit(":", 1)
m = imaplib.IMAP4(host, int(port))


def check(cond, what):
    if not cond:
        print("FAIL", what)
        sys.exit(1)
    print("ok", what)


body = b"ab\x00cd\r\n\xe9t\xe9\r\n"
msg = b"Subject: nul\r\nContent-Type: application/octet-stream\r\n\r\n" + body

m.login("alice", "pw-alice")
# imaplib sends a plain synchronizing literal.
typ, data = m.append("INBOX", None, None, msg)
check(typ == "OK", "APPEND of a plain literal holding NUL: %r" % data)

# literal8, written by hand.
tag = m._new_tag()
m.send(tag + b" APPEND INBOX ~{%d}\r\n" % len(msg))
cont = m.readline()
check(cont.startswith(b"+"), "literal8 continuation: %r" % cont)
m.send(msg + b"\r\n")
line = m.readline()
check(line.startswith(tag + b" OK"), "APPEND of a literal8 holding NUL: %r" % line)

typ, data = m.select("INBOX")
check(typ == "OK" and data[0] == b"2", "two messages: %r" % data)

stored = {}
for n in (b"1", b"2"):
    typ, data = m.fetch(n, "(BODY.PEEK[1] BINARY.PEEK[1] BINARY.SIZE[1] BODY.PEEK[TEXT] BINARY.PEEK[TEXT] BINARY.SIZE[TEXT] RFC822.SIZE BODY.PEEK[])")
    check(typ == "OK", "FETCH %s: %r" % (n, typ))
    items = {}
    lits = [d for d in data if isinstance(d, tuple)]
    for head, val in lits:
        name = re.search(rb"(BODY\[[^\]]*\]|BINARY\[[^\]]*\])\s+~?\{\d+\}$", head).group(1)
        items[name] = val
    tail = b" ".join(d if isinstance(d, bytes) else d[0] for d in data)
    sizes = dict((k, int(v)) for k, v in re.findall(rb"(BINARY\.SIZE\[[^\]]*\]|RFC822\.SIZE) (\d+)", tail))
    check(items[b"BINARY[1]"] == body, "BINARY[1] of %s is the octets appended" % n)
    check(sizes[b"BINARY.SIZE[1]"] == len(body), "BINARY.SIZE[1] of %s is %d" % (n, len(body)))
    for k in (b"BODY[1]", b"BODY[TEXT]", b"BODY[]", b"BINARY[TEXT]"):
        check(b"\x00" not in items[k], "%s of %s holds no NUL" % (k.decode(), n))
    check(sizes[b"BINARY.SIZE[TEXT]"] == len(items[b"BINARY[TEXT]"]),
          "BINARY.SIZE[TEXT] of %s (%d) is the size of BINARY[TEXT] (%d)" % (n, sizes[b"BINARY.SIZE[TEXT]"], len(items[b"BINARY[TEXT]"])))
    check(sizes[b"RFC822.SIZE"] == len(items[b"BODY[]"]), "RFC822.SIZE of %s is the size of BODY[]" % n)
    stored[n] = (items[b"BINARY[1]"], items[b"BODY[]"])

check(stored[b"1"] == stored[b"2"], "a plain literal and a literal8 with the same octets are stored and read back the same")
m.logout()
print("DONE")
