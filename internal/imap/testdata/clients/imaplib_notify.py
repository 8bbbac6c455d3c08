"""NOTIFY (RFC 5465) from Python's imaplib, with a delivery over LMTP.

Session A selects INBOX and asks, with NOTIFY SET STATUS, for new and
expunged messages in INBOX (with their UID and Subject), for Work's
counters, and for every mailbox's name changes. It then waits between
commands, not in IDLE: the delivery over LMTP must reach it as EXISTS and
FETCH, session B's APPEND to Work as STATUS, and B's CREATE as LIST.

argv: imap-host:port lmtp-host:port user password
"""
import imaplib
import smtplib
import sys
import time

ihost, iport = sys.argv[1].rsplit(":", 1)
lhost, lport = sys.argv[2].rsplit(":", 1)
user, password = sys.argv[3], sys.argv[4]

imaplib.Commands["NOTIFY"] = ("AUTH", "SELECTED")

a = imaplib.IMAP4(ihost, int(iport))
assert "NOTIFY" in a.capabilities, a.capabilities
a.login(user, password)
b = imaplib.IMAP4(ihost, int(iport))
b.login(user, password)
typ, _ = b.create("Work")
assert typ == "OK", typ

typ, data = a.select("INBOX")
before = int(data[0])
print("ok select", before)

typ, data = a._simple_command(
    "NOTIFY", "SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge))"
    " (mailboxes Work (MessageNew MessageExpunge)) (personal (MailboxName))")
assert typ == "OK", (typ, data)
status = a.untagged_responses.pop("STATUS", [])
assert any(b"Work (MESSAGES 0 " in s for s in status), status
print("ok notify set", status)

try:
    a._simple_command("NOTIFY", "SET (selected (MessageNew))")
    raise AssertionError("MessageNew without MessageExpunge accepted")
except imaplib.IMAP4.error as e:
    assert "BAD" in str(e), e
typ, data = a._simple_command("NOTIFY", "SET (personal (MailboxMetadataChange))")
assert typ == "NO", (typ, data)
code = a.untagged_responses.pop("BADEVENT", None)
assert code and b"MessageNew MessageExpunge" in code[0], code
print("ok refusals")
typ, data = a._simple_command(
    "NOTIFY", "SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge))"
    " (mailboxes Work (MessageNew MessageExpunge)) (personal (MailboxName))")
assert typ == "OK", (typ, data)


def wait_for(what):
    a.sock.settimeout(10)
    got = b""
    while what not in got:
        got += a.readline()
    return got


start = time.time()
lmtp = smtplib.LMTP(lhost, int(lport))
msg = "From: Bob <bob@example.com>\r\nTo: %s\r\nSubject: notified\r\n\r\nHello.\r\n" % user
refused = lmtp.sendmail("bob@example.com", [user], msg)
lmtp.quit()
assert not refused, refused
got = wait_for(b"Subject: notified\r\n\r\n)\r\n")
assert b"* %d EXISTS" % (before + 1) in got, got
print("ok LMTP delivery notified %.3fs later: %r" % (time.time() - start, got))

typ, _ = b.append("Work", None, None, b"Subject: work\r\n\r\nwork\r\n")
assert typ == "OK", typ
got = wait_for(b"\r\n")
assert got.startswith(b"* STATUS Work (MESSAGES 1 UIDNEXT 2 "), got
print("ok append in Work notified:", got)

typ, _ = b.create("Later")
assert typ == "OK", typ
got = wait_for(b"\r\n")
assert got == b'* LIST (\\HasNoChildren) "/" Later\r\n', got
print("ok create notified:", got)

typ, _ = a._simple_command("NOTIFY", "NONE")
assert typ == "OK", typ
typ, _ = a.noop()
assert typ == "OK", typ
a.logout()
b.logout()
print("DONE")
