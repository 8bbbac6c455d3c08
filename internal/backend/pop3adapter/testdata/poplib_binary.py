"""RETR and TOP of a message with a binary part (NUL octets, bare CR and
LF), read with Python's poplib from the server at argv[1:3] as argv[3]
with password argv[4]. argv[5] is the binary part's content, hex-encoded.

Checks that the multi-line response is made of CRLF-ended lines without
NUL (RFC 1939 §3), that LIST's size is the number of octets RETR sends
before dot-stuffing, and that the part decodes to the octets stored.
Prints one line per check; exits non-zero on the first failure.
"""
import binascii
import email
import email.policy
import poplib
import sys

host, port, user, password, hexpart = sys.argv[1:6]
want = binascii.unhexlify(hexpart)


def check(cond, what):
    if not cond:
        print("FAIL", what)
        sys.exit(1)
    print("ok", what)


p = poplib.POP3(host, int(port))
p.user(user)
p.pass_(password)
resp, listing, _ = p.list()
num, size = (int(x) for x in listing[-1].split())  # the last message


def multiline(cmd):
    p._putcmd(cmd)
    first = p._getline()[0]
    lines = []
    while True:
        line = p.file.readline()
        check(line.endswith(b"\r\n") and b"\r" not in line[:-2] and b"\n" not in line[:-2],
              "%s line ends in CRLF, no bare CR or LF: %r" % (cmd, line[:40]))
        if line == b".\r\n":
            return first, lines
        check(b"\x00" not in line, "%s line holds no NUL" % cmd)
        if line.startswith(b".."):
            line = line[1:]
        lines.append(line)


first, lines = multiline("RETR %d" % num)
sent = b"".join(lines)
check(first == b"+OK %d octets" % size, "RETR announces LIST's size %d: %r" % (size, first))
check(len(sent) == size, "RETR sends %d octets, LIST says %d" % (len(sent), size))
msg = email.message_from_bytes(sent, policy=email.policy.default)
parts = [part for part in msg.walk() if part.get_content_maintype() == "application"]
check(len(parts) == 1 and parts[0]["Content-Transfer-Encoding"] == "base64", "the binary part is sent base64-encoded")
check(parts[0].get_payload(decode=True) == want, "the binary part decodes to the octets stored")

first, lines = multiline("TOP %d 0" % num)
check(first.startswith(b"+OK"), "TOP: %r" % first)
check(b"".join(lines) == sent[: sent.index(b"\r\n\r\n") + 4], "TOP n 0 is RETR's header and the blank line")
p.quit()
print("DONE")
