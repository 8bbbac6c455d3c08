"""THREAD (RFC 5256) with Python's imaplib against the server at argv[1].

The INBOX holds the messages of testdata/transcripts/thread.txt, delivered
in the same order. Prints one line per check; exits non-zero on the first
failure.
"""
import imaplib
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
caps = m.capabilities
for alg in ("THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "THREAD=REFS"):
    check(alg in caps, "capability %s in %r" % (alg, caps))

typ, data = m.select("INBOX")
check(typ == "OK" and data[0] == b"10", "select %r" % data)

typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
check(typ == "OK" and data == [b"(2 7)(1 (5)(3)(8))((4)(6))(10 9)"], "thread references %r" % data)

typ, data = m.thread("REFS", "US-ASCII", "ALL")
check(typ == "OK" and data == [b"(2)(1 (5)(3))((4)(6))(7)(10 9)(8)"], "thread refs %r" % data)

typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "SUBJECT", "lunch")
check(typ == "OK" and data == [b"(1 (5)(3)(8))"], "thread orderedsubject subject lunch %r" % data)

typ, data = m.thread("REFERENCES", "UTF-8", "SUBJECT", '"no such subject"')
check(typ == "OK" and data == [b""], "thread with no match %r" % data)

typ, data = m.store("1", "+FLAGS.SILENT", "(\\Deleted)")
check(typ == "OK", "store")
typ, data = m.expunge()
check(typ == "OK" and data == [b"1"], "expunge %r" % data)

typ, data = m.uid("THREAD", "REFERENCES", "UTF-8", "ALL")
check(typ == "OK" and data == [b"(2 7)((4)(6))(10 9)(8 (5)(3))"], "uid thread references %r" % data)
typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
check(typ == "OK" and data == [b"(1 6)((3)(5))(9 8)(7 (4)(2))"], "thread after expunge %r" % data)

typ, data = m.thread("REFERENCES", "KOI8-R", "ALL")
check(typ == "NO" and data[0].startswith(b"[BADCHARSET (UTF-8 US-ASCII)]"), "unknown charset %r %r" % (typ, data))
try:
    m.thread("JWZ", "UTF-8", "ALL")
    check(False, "unknown algorithm accepted")
except imaplib.IMAP4.error as err:
    check("unknown threading algorithm" in str(err), "unknown algorithm: %s" % err)

m.logout()
print("DONE")
