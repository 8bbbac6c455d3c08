"""MULTIAPPEND, CATENATE and BINARY with Python's imaplib against the server at argv[1].

imaplib sends one literal per command by itself; the extended APPEND forms
are written with its send() and read with its own response parser.
Prints one line per check; exits non-zero on the first failure.
"""
import base64
import email
import email.policy
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
# BODY[1] of a binary part is its base64 form (no NUL in a plain literal).
check(literals == [content, base64.b64encode(content)], "binary and body content %r" % literals)
check(b"RFC822.SIZE %d" % (len(msg) - len(content) + len(base64.b64encode(content))) in data[-1], "presented size %r" % data[-1])

# A multipart with a binary attachment of every octet value and a NUL in a
# text part: a client that does not speak BINARY gets a valid MIME message
# from BODY[] that decodes to what was appended.
blob = bytes(range(256)) * 3
parts = (b"Subject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
         b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ngr\xc3\xbc\xc3\x9fe\r\n"
         b"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
         b"Content-Disposition: attachment; filename=blob.bin\r\n\r\n" + blob + b"\r\n"
         b"--XX\r\nContent-Type: text/plain\r\n\r\nnul\x00here\r\n--XX--\r\n")
typ, data = raw(b"APPEND INBOX " + lit(parts, binary=True))
check(typ == "OK", "append multipart literal8 %r" % data)
typ, data = m.fetch("11", "(RFC822.SIZE BODY.PEEK[] BINARY.PEEK[2] BINARY.PEEK[3])")
literals = [d[1] for d in data if isinstance(d, tuple)]
check(len(literals) == 3, "three literals %r" % (data,))
whole = literals[0]
check(b"\x00" not in whole, "no NUL in BODY[]")
check(re.search(rb"RFC822.SIZE (\d+)", data[0][0]).group(1) == b"%d" % len(whole), "RFC822.SIZE is the size of BODY[] %r" % data[0][0])
check(literals[1] == blob and literals[2] == b"nul\x00here", "BINARY gives the appended octets")
parsed = email.message_from_bytes(whole, policy=email.policy.default)
check(not parsed.defects, "BODY[] parses without defects %r" % parsed.defects)
got = [p for p in parsed.walk() if not p.is_multipart()]
check([p.get_content_type() for p in got] == ["text/plain", "application/octet-stream", "text/plain"], "parts %r" % got)
check(got[0].get_payload(decode=True) == "grüße".encode(), "text part")
check(got[1]["Content-Transfer-Encoding"] == "base64" and got[1].get_payload(decode=True) == blob and not got[1].defects, "binary part decodes to the appended octets")
check(all(len(l) <= 76 for l in got[1].get_payload().splitlines()), "base64 lines are at most 76 characters")
check(got[2]["Content-Transfer-Encoding"] == "base64" and got[2].get_payload(decode=True) == b"nul\x00here", "NUL part decodes to the appended octets")
typ, data = m.fetch("11", "(BODYSTRUCTURE)")
check(b'"OCTET-STREAM" NIL NIL NIL "BASE64" %d' % len(got[1].get_payload().encode()) in data[0], "BODYSTRUCTURE %r" % data)

# Larger than what a FETCH reads with the metadata (1 MiB): the same, and
# a partial of the converted part.
big = bytes((i * 7 + i // 251) % 256 for i in range(1_500_000))
bigmsg = b"Subject: big\r\nContent-Type: multipart/mixed; boundary=YY\r\n\r\n--YY\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + big + b"\r\n--YY--\r\n"
typ, data = raw(b"APPEND INBOX " + lit(bigmsg, binary=True))
check(typ == "OK", "append big literal8")
typ, data = m.fetch("12", "(RFC822.SIZE BODY.PEEK[] BODY.PEEK[1]<1000000.100>)")
literals = [d[1] for d in data if isinstance(d, tuple)]
whole = literals[0]
check(re.search(rb"RFC822.SIZE (\d+)", data[0][0]).group(1) == b"%d" % len(whole), "big RFC822.SIZE is the size of BODY[]")
parsed = email.message_from_bytes(whole, policy=email.policy.default)
got = [p for p in parsed.walk() if not p.is_multipart()]
check(len(got) == 1 and got[0].get_payload(decode=True) == big, "big binary part decodes to the appended octets")
encoded = got[0].get_payload().encode()
check(literals[1] == encoded[1000000:1000100], "partial of the converted part")

m.logout()
print("DONE")
