"""ESORT, PARTIAL, SORT=DISPLAY and CONTEXT=SEARCH with Python's imaplib
against the server at argv[1] (INBOX holds simple.eml and multipart.eml).

Prints one line per check; exits non-zero on the first failure.
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


def next_tag(m):
    # The tag imaplib gives the next command.
    return m.tagpre + str(m.tagnum).encode()


def esearch(m):
    return m.untagged_responses.pop("ESEARCH", [])


m = imaplib.IMAP4(host, port)
for cap in ("ESORT", "PARTIAL", "SORT=DISPLAY", "CONTEXT=SEARCH", "CONTEXT=SORT"):
    check(cap in m.capabilities, "capability " + cap)
check(m.login("alice", "pw-alice")[0] == "OK", "login")
check(m.select("INBOX")[0] == "OK", "select")

tag = next_tag(m)
typ, data = m._simple_command("SORT", "RETURN", "(MIN MAX COUNT ALL)", "(REVERSE SUBJECT)", "UTF-8", "ALL")
got = esearch(m)
check(typ == "OK" and got == [b'(TAG "' + tag + b'") MIN 2 MAX 1 COUNT 2 ALL 2,1'], "ESORT %r" % got)

tag = next_tag(m)
typ, data = m.uid("SEARCH", "RETURN", "(PARTIAL -1:-1)", "ALL")
got = esearch(m)
check(typ == "OK" and got == [b'(TAG "' + tag + b'") UID PARTIAL (-1:-1 2)'], "PARTIAL %r" % got)

try:
    m._simple_command("SEARCH", "RETURN", "(PARTIAL 1:2 ALL)", "ALL")
    check(False, "PARTIAL with ALL accepted")
except imaplib.IMAP4.error as err:
    check("BAD" in str(err), "PARTIAL with ALL is BAD: %s" % err)

typ, data = m.sort("(DISPLAYFROM)", "UTF-8", "ALL")
check(typ == "OK" and data == [b"2 1"], "SORT DISPLAYFROM %r" % data)

# An updating search; a second session appends and marks \Seen.
ctx = next_tag(m)
typ, data = m._simple_command("SEARCH", "RETURN", "(UPDATE)", "UNSEEN")
got = esearch(m)
check(typ == "OK" and got == [b'(TAG "' + ctx + b'") ALL 1:2'], "UPDATE %r" % got)

m2 = imaplib.IMAP4(host, port)
m2.login("alice", "pw-alice")
m2.select("INBOX")
msg = b"From: p@example.com\r\nSubject: from python\r\n\r\nhello\r\n"
check(m2.append("INBOX", None, None, msg)[0] == "OK", "append from the second session")
m.noop()
got = esearch(m)
check(got == [b'(TAG "' + ctx + b'") ADDTO (0 3)'], "ADDTO after append %r" % got)

check(m2.store("1", "+FLAGS", "\\Seen")[0] == "OK", "store from the second session")
m.noop()
got = esearch(m)
check(got == [b'(TAG "' + ctx + b'") REMOVEFROM (0 1)'], "REMOVEFROM after store %r" % got)

typ, data = m.xatom("CANCELUPDATE", '"' + ctx.decode() + '"')
check(typ == "OK", "CANCELUPDATE %r" % data)
m2.append("INBOX", None, None, msg)
m.noop()
got = esearch(m)
check(got == [], "no update after CANCELUPDATE %r" % got)

m2.logout()
m.logout()
print("DONE")
