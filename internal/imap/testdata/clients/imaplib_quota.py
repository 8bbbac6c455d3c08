#!/usr/bin/env python3
"""QUOTA (RFC 9208) with Python's imaplib: GETQUOTAROOT, GETQUOTA, SETQUOTA
refused, APPEND and COPY refused with [OVERQUOTA] at the limit.
Usage: imaplib_quota.py host:port (alice has a 4096-octet limit)."""
import imaplib
import sys

host, port = sys.argv[1].rsplit(":", 1)
m = imaplib.IMAP4(host, int(port))
m.login("alice", "pw-alice")
caps = m.capabilities
assert "QUOTA" in caps and "QUOTA=RES-STORAGE" in caps, caps
assert "QUOTASET" not in caps, caps

typ, data = m.getquotaroot("INBOX")
assert typ == "OK", (typ, data)
print("getquotaroot:", data)
assert data[0] == [b'INBOX ""'], data
assert data[1] == [b'"" (STORAGE 0 4)'], data

typ, data = m.getquota('""')
assert typ == "OK" and data == [b'"" (STORAGE 0 4)'], (typ, data)

typ, data = m.setquota('""', "(STORAGE 100)")
print("setquota:", typ, data)
assert typ == "NO" and b"[NOPERM]" in data[0], (typ, data)

msg = b"Subject: quota\r\n\r\n" + b"x" * 1982 + b"\r\n"  # 2,002 octets
typ, data = m.append("INBOX", None, None, msg)
assert typ == "OK", (typ, data)
typ, data = m.append("INBOX", None, None, msg)
assert typ == "OK", (typ, data)
typ, data = m.getquota('""')
print("getquota:", data)
assert data == [b'"" (STORAGE 4 4)'], data
typ, data = m.append("INBOX", None, None, msg)
print("append:", typ, data)
assert typ == "NO" and b"[OVERQUOTA]" in data[0], (typ, data)

m.select("INBOX")
typ, data = m.copy("1", "Archive")
print("copy:", typ, data)
assert typ == "NO" and b"[OVERQUOTA]" in data[0], (typ, data)
typ, data = m.uid("MOVE", "1", "Archive")
assert typ == "OK", (typ, data)
typ, data = m.status("INBOX", "(MESSAGES)")
assert typ == "OK" and b"MESSAGES 1" in data[0], data
m.logout()
print("DONE")
