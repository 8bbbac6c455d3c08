"""A full IMAP session with Python's imaplib against the server at argv[1].

Prints one line per check; exits non-zero on the first failure.
"""
import imaplib
import socket
import sys
import time

host, port = sys.argv[1].rsplit(":", 1)
port = int(port)


def check(cond, what):
    if not cond:
        print("FAIL", what)
        sys.exit(1)
    print("ok", what)


m = imaplib.IMAP4(host, port)
check("IMAP4REV1" in m.capabilities, "capabilities %r" % (m.capabilities,))
typ, data = m.login("alice", "pw-alice")
check(typ == "OK", "login")

typ, data = m.list()
names = [d.decode().rsplit(" ", 1)[-1] for d in data]
check(typ == "OK" and "INBOX" in names and "Sent" in names, "list %r" % names)

typ, data = m.create("Python/Sub")
check(typ == "OK", "create")
typ, data = m.select("INBOX")
check(typ == "OK" and data[0] == b"2", "select %r" % data)

typ, data = m.fetch("1:2", "(UID FLAGS RFC822.SIZE ENVELOPE)")
check(typ == "OK" and len(data) == 2 and b"afternoon meeting" in data[0], "fetch envelope")

typ, data = m.fetch("2", "(BODY.PEEK[1.1] BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
check(typ == "OK" and data[0][1] == b"plain text with the word kumquat", "fetch part %r" % (data[0],))

typ, data = m.uid("SEARCH", None, "SUBJECT", "meeting")
check(typ == "OK" and data[0] == b"1", "uid search %r" % data)
typ, data = m.search("UTF-8", "BODY", "kumquat")
check(typ == "OK" and data[0] == b"2", "search body %r" % data)

typ, data = m.store("1", "+FLAGS", "(\\Flagged)")
check(typ == "OK" and b"\\Flagged" in data[0], "store %r" % data)

typ, data = m.append("INBOX", "(\\Seen)", imaplib.Time2Internaldate(time.time()),
                     b"Subject: from python\r\n\r\nhello\r\n")
check(typ == "OK" and b"APPENDUID" in data[0], "append %r" % data)
typ, data = m.noop()
check(typ == "OK", "noop")

typ, data = m.copy("1", "Python/Sub")
check(typ == "OK" and b"COPYUID" in data[0], "copy %r" % data)

typ, data = m.status("Python/Sub", "(MESSAGES UIDNEXT)")
check(typ == "OK" and b"MESSAGES 1" in data[0], "status %r" % data)

# IDLE, woken by an APPEND from a second session.
tag = m._new_tag()
m.send(tag + b" IDLE\r\n")
line = m.readline()
check(line.startswith(b"+"), "idle continuation %r" % line)
other = imaplib.IMAP4(host, port)
other.login("alice", "pw-alice")
start = time.time()
other.append("INBOX", None, None, b"Subject: wake up\r\n\r\nwake\r\n")
m.sock.settimeout(5)
got = b""
while b"EXISTS" not in got:
    got += m.readline()
check(b"* 4 EXISTS" in got, "idle woken by a delivery after %.3fs: %r" % (time.time() - start, got))
m.send(b"DONE\r\n")
while True:
    line = m.readline()
    if line.startswith(tag):
        break
check(b"OK" in line, "idle done %r" % line)
other.logout()

typ, data = m.store("3", "+FLAGS", "(\\Deleted)")
typ, data = m.expunge()
check(typ == "OK" and data[0] == b"3", "expunge %r" % data)
typ, data = m.close()
check(typ == "OK", "close")
typ, data = m.logout()
check(typ == "BYE", "logout %r" % typ)
print("DONE")
