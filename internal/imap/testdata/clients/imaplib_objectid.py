"""SAVEDATE (RFC 8514), OBJECTID (RFC 8474) and PREVIEW (RFC 8970) with
Python's imaplib against the server at argv[1].

Prints one line per check; exits non-zero on the first failure.
"""
import datetime
import imaplib
import re
import sys

host, port = sys.argv[1].rsplit(":", 1)
port = int(port)


def check(cond, what):
    if not cond:
        print("FAIL", what)
        sys.exit(1)
    print("ok", what)


m = imaplib.IMAP4(host, port)
typ, data = m.login("alice", "pw-alice")
check(typ == "OK", "login")
for cap in ("SAVEDATE", "OBJECTID", "PREVIEW"):
    check(cap in m.capabilities, "capability %s in %r" % (cap, m.capabilities))

# CREATE tells the new mailbox's id; STATUS and SELECT tell the same one,
# also after RENAME.
typ, data = m.create("Py")
check(typ == "OK", "create %r" % data)
code = m.response("MAILBOXID")[1][0]
check(code is not None and re.fullmatch(rb"\(F[A-Za-z0-9_-]+\)", code), "create MAILBOXID %r" % code)
created = code[1:-1]
typ, data = m.rename("Py", "Py2")
check(typ == "OK", "rename")
typ, data = m.status("Py2", "(MAILBOXID MESSAGES)")
check(typ == "OK" and b"MAILBOXID (" + created + b")" in data[0], "status after rename %r" % data)

typ, data = m.select("INBOX")
check(typ == "OK" and data[0] == b"2", "select %r" % data)
inbox_id = m.response("MAILBOXID")[1][0]
check(inbox_id is not None and inbox_id != b"(" + created + b")", "select MAILBOXID %r" % inbox_id)

typ, data = m.fetch("1:2", "(EMAILID THREADID SAVEDATE PREVIEW)")
check(typ == "OK" and len(data) == 2, "fetch %r" % data)
ids = [re.search(rb"EMAILID \(([A-Za-z0-9_-]+)\)", d).group(1) for d in data]
check(ids[0] != ids[1], "emailids differ %r" % ids)
check(all(b"THREADID NIL" in d for d in data), "threadid NIL")
today = datetime.datetime.now(datetime.timezone.utc).strftime("%d-%b-%Y").encode()
check(all(b'SAVEDATE "' + today in d for d in data), "savedate today %r" % data)
check(b'PREVIEW "Hello Joe, do you think we can meet at 3:30 tomorrow?"' in data[0], "preview %r" % data[0])
check(b'PREVIEW "plain text with the word kumquat"' in data[1], "preview of alternatives %r" % data[1])

typ, data = m.fetch("1", "(PREVIEW (LAZY))")
check(typ == "OK" and b"PREVIEW" in data[0], "preview lazy %r" % data)

typ, data = m.search(None, "EMAILID", ids[1].decode())
check(typ == "OK" and data[0] == b"2", "search emailid %r" % data)
typ, data = m.search(None, "SAVEDON", datetime.datetime.now(datetime.timezone.utc).strftime("%d-%b-%Y"))
check(typ == "OK" and data[0] == b"1 2", "search savedon %r" % data)
typ, data = m.search(None, "SAVEDBEFORE", "1-Jan-2020")
check(typ == "OK" and data[0] == b"", "search savedbefore %r" % data)
typ, data = m.search(None, "SAVEDATESUPPORTED")
check(typ == "OK" and data[0] == b"1 2", "search savedatesupported %r" % data)

# A copy has the same EMAILID; a moved message keeps its own.
typ, data = m.copy("1", "Py2")
check(typ == "OK", "copy")
typ, data = m.uid("MOVE", "2", "Py2")
check(typ == "OK", "move %r" % data)
typ, data = m.select("Py2", readonly=True)
typ, data = m.fetch("1:2", "(EMAILID)")
moved = [re.search(rb"EMAILID \(([A-Za-z0-9_-]+)\)", d).group(1) for d in data]
check(moved == ids, "ids after copy and move %r vs %r" % (moved, ids))

try:
    m.search(None, "EMAILID", '"x y"')
    check(False, "search with a bad object id must fail")
except imaplib.IMAP4.error as e:
    check("BAD" in str(e) or "object id" in str(e), "bad object id refused: %s" % e)

m.logout()
print("DONE")
