package imapadapter

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
)

// objectIDs derives a user's RFC 8474 object ids from store IDs.
//
// MAILBOXID is the folder's ID and EMAILID the ID of the stored body, so a
// folder keeps its id across RENAME (the row is renamed in place), a folder
// created again under the same name gets a new one (folder IDs are never
// reused), copies of a message share one (they share the body) and a moved
// message keeps its own (it keeps its body).
//
// The IDs are not sent as they are: they count across all users (a body
// delivered to two mailboxes is shared by both), so they would show a user
// how much mail the server takes, and two users could tell they got the
// same message. Each id is instead an HMAC-SHA-256 of the ID under a key of
// the mailbox (its GUID, which the user is never shown), cut to 120 bits
// and written in base64url (RFC 8474 objectid: 1*255 of A-Z a-z 0-9 _ -),
// behind "F" for folders and "M" for messages. The same store ID gives
// unrelated ids in two mailboxes, and nobody without the GUID can compute
// or invert them.
type objectIDs struct{ key []byte }

func newObjectIDs(guid string) *objectIDs {
	return &objectIDs{key: []byte("gatehouse objectid v1 " + guid)}
}

func (o *objectIDs) derive(prefix byte, id int64) string {
	mac := hmac.New(sha256.New, o.key)
	var b [9]byte
	b[0] = prefix
	binary.BigEndian.PutUint64(b[1:], uint64(id))
	mac.Write(b[:])
	sum := mac.Sum(nil)
	return string(prefix) + base64.RawURLEncoding.EncodeToString(sum[:15])
}

// mailboxID is the MAILBOXID of the folder with store ID folderID.
func (o *objectIDs) mailboxID(folderID int64) string { return o.derive('F', folderID) }

// emailID is the EMAILID of the messages whose body has store ID bodyID.
func (o *objectIDs) emailID(bodyID int64) string { return o.derive('M', bodyID) }

// objectIDs returns the session's id deriver, reading the mailbox's GUID
// the first time.
func (u *user) objectIDs(ctx context.Context) (*objectIDs, error) {
	u.idsMu.Lock()
	defer u.idsMu.Unlock()
	if u.ids != nil {
		return u.ids, nil
	}
	// A mailbox's GUID never changes and its ID is never given to
	// another mailbox, so what one session read serves every later one
	// of the process.
	if ids, ok := u.b.objectIDs.Load(u.mailboxID); ok {
		u.ids = ids.(*objectIDs)
		return u.ids, nil
	}
	guid, err := u.b.mail.MailboxGUID(ctx, u.mailboxID)
	if err != nil {
		return nil, err
	}
	u.ids = newObjectIDs(guid)
	u.b.objectIDs.Store(u.mailboxID, u.ids)
	return u.ids, nil
}

// mailboxIDOf is the MAILBOXID of a folder of the session's mailbox.
func (u *user) mailboxIDOf(ctx context.Context, folderID int64) (string, error) {
	ids, err := u.objectIDs(ctx)
	if err != nil {
		return "", wireError(err)
	}
	return ids.mailboxID(folderID), nil
}
