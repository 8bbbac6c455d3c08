# Signs in to IMAP4 with imaplib.authenticate and a bearer token:
#   imaplib_oauth.py HOST:PORT MECH USER TOKEN
# MECH is XOAUTH2 or OAUTHBEARER. Prints "OK <n> messages" or "NO <text>".
import imaplib
import sys

host, port = sys.argv[1].rsplit(":", 1)
mech, user, token = sys.argv[2], sys.argv[3], sys.argv[4]

def xoauth2(challenge):
    if challenge:
        return b""  # the answer to the JSON error challenge
    return ("user=%s\x01auth=Bearer %s\x01\x01" % (user, token)).encode()

def oauthbearer(challenge):
    if challenge:
        return b"\x01"  # RFC 7628 section 3.2.3: the dummy response
    return ("n,a=%s,\x01auth=Bearer %s\x01\x01" % (user, token)).encode()

m = imaplib.IMAP4(host, int(port))
try:
    m.authenticate(mech, xoauth2 if mech == "XOAUTH2" else oauthbearer)
except imaplib.IMAP4.error as e:
    print("NO", e)
    sys.exit(0)
typ, data = m.select("INBOX", readonly=True)
print("OK", int(data[0]), "messages")
m.logout()
