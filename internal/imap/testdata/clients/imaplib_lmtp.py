"""IDLE in Python's imaplib woken by a delivery over LMTP (smtplib.LMTP).

argv: imap-host:port lmtp-host:port user password
"""
import imaplib
import smtplib
import sys
import time

ihost, iport = sys.argv[1].rsplit(":", 1)
lhost, lport = sys.argv[2].rsplit(":", 1)
user, password = sys.argv[3], sys.argv[4]

m = imaplib.IMAP4(ihost, int(iport))
m.login(user, password)
typ, data = m.select("INBOX")
before = int(data[0])
print("ok select", before)

tag = m._new_tag()
m.send(tag + b" IDLE\r\n")
line = m.readline()
assert line.startswith(b"+"), line
print("ok idling")

start = time.time()
lmtp = smtplib.LMTP(lhost, int(lport))
msg = "From: Bob <bob@example.com>\r\nTo: %s\r\nSubject: over LMTP\r\n\r\nHello over LMTP.\r\n" % user
refused = lmtp.sendmail("bob@example.com", [user], msg)
lmtp.quit()
assert not refused, refused
print("ok delivered over LMTP")

m.sock.settimeout(5)
got = b""
while b"EXISTS" not in got:
    got += m.readline()
want = b"* %d EXISTS" % (before + 1)
assert want in got, got
print("ok IDLE woken %.3fs after the LMTP delivery began: %r" % (time.time() - start, got.strip()))
m.send(b"DONE\r\n")
while not m.readline().startswith(tag):
    pass
typ, data = m.fetch(str(before + 1), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert b"over LMTP" in data[0][1], data
print("ok fetched the delivered message")
m.logout()
print("DONE")
