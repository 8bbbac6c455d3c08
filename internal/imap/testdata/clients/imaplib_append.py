"""MULTIAPPEND, CATENATE and BINARY with Python's imaplib against the server at argv[1].

imaplib sends one literal per command by itself; the extended APPEND forms
are written with its send() and read with its own response parser.
Prints one line per check; exits non-zero on the first failure.
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


def lit(data, plus=True, binary=False):
    return (b"~" if binary else b"") + b"{%d%s}\r\n" % (len(data), b"+" if plus else b"") + data


def raw(cmd):
    """Sends a whole command (non-synchronizing literals) and returns its completion."""
    tag = m._new_tag()
    m.send(tag + b" " + cmd + b"\r\n")
    try:
        return m._command_complete("APPEND", tag)
    except imaplib.IMAP4.error as e:
        return "NO", [str(e).encode()]


def status():
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT)")
    return data[0]


for cap in ("MULTIAPPEND", "CATENATE", "BINARY", "UIDPLUS"):
    check(cap in m.capabilities, "capability " + cap)
typ, data = m.login("alice", "pw-alice")
check(typ == "OK", "login")
typ, data = m.select("INBOX")
check(typ == "OK" and data[0] == b"1", "select %r" % data)
uidvalidity = m.untagged_responses["UIDVALIDITY"][0].decode()

# MULTIAPPEND with LITERAL+: three messages, one APPENDUID set.
one, two, three = (b"Subject: py %d\r\n\r\nbody %d\r\n" % (i, i) for i in (1, 2, 3))
typ, data = raw(b"APPEND INBOX (\\Seen) " + lit(one) + b" " + lit(two) + b' (\\Flagged) "01-Apr-2024 08:30:00 -0700" ' + lit(three))
check(typ == "OK" and re.search(rb"\[APPENDUID " + uidvalidity.encode() + rb" 2:4\]", data[0]), "multiappend %r" % data)
typ, data = m.fetch("2:4", "(FLAGS BODY.PEEK[])")
bodies = [d[1] for d in data if isinstance(d, tuple)]
check(bodies == [one, two, three], "multiappend bodies %r" % bodies)

# The same with synchronizing literals, as imaplib itself would send them.
tag = m._new_tag()
m.send(tag + b" APPEND INBOX {%d}\r\n" % len(one))
check(m.readline().startswith(b"+"), "continuation for the first message")
m.send(one + b" {%d}\r\n" % len(two))
check(m.readline().startswith(b"+"), "continuation for the second message")
m.send(two + b"\r\n")
typ, data = m._command_complete("APPEND", tag)
check(typ == "OK" and b"5:6" in data[0], "synchronizing multiappend %r" % data)

# All or nothing: an empty second message cancels the whole APPEND.
before = status()
typ, data = raw(b"APPEND INBOX " + lit(one) + b" " + lit(b"") + b" " + lit(three))
check(typ == "NO", "cancelled multiappend %r" % data)
check(status() == before, "nothing stored: %r" % status())

# CATENATE: a new header, then part 1.1 of the delivered message.
url = b'"/INBOX;UIDVALIDITY=%s/;UID=1/;SECTION=1.1"' % uidvalidity.encode()
typ, data = raw(b"APPEND INBOX CATENATE (TEXT " + lit(b"Subject: catenated\r\n\r\n") + b" URL " + url + b")")
check(typ == "OK" and b"APPENDUID" in data[0], "catenate %r" % data)
typ, data = m.fetch("7", "(BODY.PEEK[])")
check(data[0][1] == b"Subject: catenated\r\n\r\nplain text with the word kumquat", "catenated body %r" % (data[0],))
typ, data = raw(b'APPEND INBOX CATENATE (URL "/INBOX/;UID=99")')
check(typ == "NO" and b"[BADURL /INBOX/;UID=99]" in data[0], "badurl %r" % data)

# CATENATE within MULTIAPPEND.
typ, data = raw(b"APPEND INBOX " + lit(one) + b" CATENATE (TEXT " + lit(b"Subject: c2\r\n\r\n") + b" URL " + url + b")")
check(typ == "OK" and b"8:9" in data[0], "multiappend with catenate %r" % data)

# BINARY: a literal8 with NUL, bare LF and 8-bit octets comes back exactly.
content = b"\x00\x01a\nb\rc\xff\xfe\r\nend"
msg = b"Subject: bin\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + content
typ, data = raw(b"APPEND INBOX " + lit(msg, binary=True))
check(typ == "OK", "append literal8 %r" % data)
typ, data = m.fetch("10", "(BINARY.SIZE[1] BINARY.PEEK[1] BODY.PEEK[1] RFC822.SIZE)")
check(b"BINARY.SIZE[1] %d" % len(content) in data[0][0], "binary size %r" % (data,))
literals = [d[1] for d in data if isinstance(d, tuple)]
check(literals == [content, content], "binary and body content %r" % literals)
check(b"RFC822.SIZE %d" % len(msg) in data[-1], "stored size %r" % data[-1])

m.logout()
print("DONE")
