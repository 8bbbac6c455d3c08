package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

func migrated(uid uint32, raw string) store.MigratedMessage {
	sum := sha256.Sum256([]byte(raw))
	return store.MigratedMessage{SourceUID: uid, Hash: hex.EncodeToString(sum[:]), Msg: parsedMessage(raw)}
}

// testMigrationEndpointTrustAndPages covers an endpoint's trusted
// certificates (kept byte for byte, changed and cleared by
// UpdateMigrationEndpoint) and the listings of endpoints and batches page
// by page in name order, without regard to case.
func testMigrationEndpointTrustAndPages(t *testing.T, s store.Store) {
	pem := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	names := []string{"pg-c", "PG-A", "pg-b", "Pg-E", "pg-d"}
	for i, n := range names {
		e := store.MigrationEndpoint{Name: n, EndpointType: "IMAP", RemoteServer: "imap.example.org", Port: 993, Security: "Ssl",
			Authentication: "Basic", MaxConcurrentMigrations: 20}
		if i == 0 {
			e.TrustedCertificates = pem
		}
		if err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.InsertMigrationEndpoint(ctx, &e); err != nil {
				return err
			}
			return tx.InsertMigrationBatch(ctx, &store.MigrationBatch{Name: "batch-" + n, EndpointID: e.ID, Status: store.MigrationCreated}, nil)
		}); err != nil {
			t.Fatal(err)
		}
	}
	var e store.MigrationEndpoint
	s.View(ctx, func(tx store.Tx) error {
		var err error
		e, err = tx.MigrationEndpoint(ctx, "pg-c", 0)
		if err != nil || string(e.TrustedCertificates) != string(pem) {
			t.Errorf("endpoint with certificates: %q, %v; want them back byte for byte", e.TrustedCertificates, err)
		}
		return nil
	})
	e.RemoteServer, e.Port, e.Security, e.MaxConcurrentMigrations, e.TrustedCertificates = "imap2.example.org", 143, "Tls", 3, nil
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateMigrationEndpoint(ctx, e) }); err != nil {
		t.Fatal(err)
	}
	s.View(ctx, func(tx store.Tx) error {
		got, err := tx.MigrationEndpoint(ctx, "", e.ID)
		if err != nil || got.RemoteServer != "imap2.example.org" || got.Port != 143 || got.Security != "Tls" || got.MaxConcurrentMigrations != 3 || len(got.TrustedCertificates) != 0 {
			t.Errorf("after UpdateMigrationEndpoint: %+v, %v", got, err)
		}
		var seen []string
		for after := ""; ; {
			page, err := tx.MigrationEndpoints(ctx, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				if strings.HasPrefix(strings.ToLower(p.Name), "pg-") {
					seen = append(seen, p.Name)
				}
			}
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].Name
		}
		if got := strings.Join(seen, ","); got != "PG-A,pg-b,pg-c,pg-d,Pg-E" {
			t.Errorf("endpoints page by page: %s; want PG-A,pg-b,pg-c,pg-d,Pg-E", got)
		}
		bs, err := tx.MigrationBatches(ctx, "batch-PG-B", 2)
		if err != nil || len(bs) != 2 || bs[0].Name != "batch-pg-c" || bs[1].Name != "batch-pg-d" {
			t.Errorf("batches after batch-PG-B, 2: %+v, %v; want batch-pg-c, batch-pg-d", bs, err)
		}
		return nil
	})
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.UpdateMigrationEndpoint(ctx, store.MigrationEndpoint{ID: 1 << 40, Port: 1})
	}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update a missing endpoint: %v; want ErrNotFound", err)
	}
}

// testMigrationObjects covers endpoints, batches and users: uniqueness,
// lookups, the status writes, the secret cleared at Complete, and removal.
func testMigrationObjects(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Mig Ann")
	b := newMailbox(t, s, "Mig Bob")
	e := store.MigrationEndpoint{Name: "Old", EndpointType: "IMAP", RemoteServer: "imap.example.org", Port: 993, Security: "Ssl",
		Authentication: "Basic", MaxConcurrentMigrations: 20}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMigrationEndpoint(ctx, &e) }); err != nil || e.ID == 0 {
		t.Fatalf("insert endpoint: id %d, %v", e.ID, err)
	}
	dup := e
	dup.Name = "OLD"
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMigrationEndpoint(ctx, &dup) }); !errors.Is(err, store.ErrExists) {
		t.Errorf("second endpoint named OLD: got %v; want ErrExists", err)
	}
	batch := store.MigrationBatch{Name: "B1", EndpointID: e.ID, Status: store.MigrationCreated, ExcludeFolders: []string{"Junk", "Trash/Old"}, CreatedBy: "admin"}
	users := []store.MigrationUser{
		{MailboxID: a.ID, EmailAddress: a.PrimarySmtpAddress, UserName: "ann", Secret: []byte{1, 2, 3}},
		{MailboxID: b.ID, EmailAddress: b.PrimarySmtpAddress, UserName: "admin*bob", Secret: []byte{4, 5}},
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertMigrationBatch(ctx, &batch, users) }); err != nil {
		t.Fatalf("insert batch: %v", err)
	}
	// A mailbox is in one batch at most.
	other := store.MigrationBatch{Name: "B2", EndpointID: e.ID, Status: store.MigrationCreated}
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.InsertMigrationBatch(ctx, &other, []store.MigrationUser{{MailboxID: a.ID, EmailAddress: a.PrimarySmtpAddress, UserName: "ann"}})
	}); !errors.Is(err, store.ErrExists) {
		t.Errorf("Ann in a second batch: got %v; want ErrExists", err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMigrationEndpoint(ctx, e.ID) }); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("remove an endpoint in use: got %v; want ErrInvalid", err)
	}
	started := time.Now().UTC().Truncate(time.Microsecond)
	err := s.Update(ctx, func(tx store.Tx) error {
		got, err := tx.MigrationBatch(ctx, "b1", 0)
		if err != nil {
			return err
		}
		if got.ID != batch.ID || got.Status != store.MigrationCreated || len(got.ExcludeFolders) != 2 || got.ExcludeFolders[1] != "Trash/Old" {
			t.Errorf("batch by name: got %+v", got)
		}
		got.Status, got.StartTime = store.MigrationSyncing, started
		if err := tx.UpdateMigrationBatch(ctx, got); err != nil {
			return err
		}
		us, err := tx.MigrationUsers(ctx, batch.ID, "", 0)
		if err != nil {
			return err
		}
		if len(us) != 2 || us[0].UserName != "ann" || string(us[1].Secret) != "\x04\x05" || us[0].Status != store.MigrationCreated {
			t.Errorf("users: got %+v", us)
		}
		page, err := tx.MigrationUsers(ctx, 0, us[0].EmailAddress, 1)
		if err != nil || len(page) != 1 || page[0].ID != us[1].ID {
			t.Errorf("users after %s: got %+v, %v; want Bob", us[0].EmailAddress, page, err)
		}
		us[0].Status, us[0].Error, us[0].LastSyncTime = store.MigrationFailed, "[AUTHENTICATIONFAILED] Authentication failed.", started
		if err := tx.SetMigrationUserStatus(ctx, us[0]); err != nil {
			return err
		}
		if err := tx.SetMigrationUserTotal(ctx, us[1].ID, 1234); err != nil {
			return err
		}
		return tx.ClearMigrationSecrets(ctx, batch.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(ctx, func(tx store.Tx) error {
		got, err := tx.MigrationBatch(ctx, "", batch.ID)
		if err != nil || got.Status != store.MigrationSyncing || !got.StartTime.Equal(started) {
			t.Errorf("batch after update: got %+v, %v", got, err)
		}
		if b2, _ := tx.MigrationUserByMailbox(ctx, b.ID); b2.ItemsTotal != 1234 {
			t.Errorf("Bob's total: got %d; want 1234", b2.ItemsTotal)
		}
		u, err := tx.MigrationUserByMailbox(ctx, a.ID)
		if err != nil || u.Status != store.MigrationFailed || u.Secret != nil || !u.LastSyncTime.Equal(started) || u.Error == "" {
			t.Errorf("Ann after status and Complete: got %+v, %v; want Failed with error, no secret", u, err)
		}
		return nil
	})
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMigrationBatch(ctx, batch.ID) }); err != nil {
		t.Fatalf("remove batch: %v", err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMigrationEndpoint(ctx, e.ID) }); err != nil {
		t.Errorf("remove the endpoint after its batch: %v", err)
	}
	s.View(ctx, func(tx store.Tx) error {
		if _, err := tx.MigrationUserByMailbox(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Ann after the batch was removed: got %v; want ErrNotFound", err)
		}
		return nil
	})
}

// testMigrationCopy covers the copy step: messages, progress and counters
// in one transaction; a failed step leaves no trace; a re-copy after a
// UIDVALIDITY change maps identical content to the copies made before,
// once per copy.
func testMigrationCopy(t *testing.T, s store.Store) {
	mb := newMailbox(t, s, "Mig Copy")
	e := store.MigrationEndpoint{Name: "Src", EndpointType: "IMAP", RemoteServer: "h", Port: 143, Security: "None", Authentication: "Basic", MaxConcurrentMigrations: 1}
	batch := store.MigrationBatch{Name: "Copy", Status: store.MigrationSyncing}
	users := []store.MigrationUser{{MailboxID: mb.ID, EmailAddress: mb.PrimarySmtpAddress, UserName: "u"}}
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertMigrationEndpoint(ctx, &e); err != nil {
			return err
		}
		batch.EndpointID = e.ID
		return tx.InsertMigrationBatch(ctx, &batch, users)
	}); err != nil {
		t.Fatal(err)
	}
	uid := users[0].ID
	inbox := mustInbox(t, s, mb.ID)
	same := "Subject: same\r\n\r\nbody\r\n"
	step := store.MigrationCopy{UserID: uid, Folder: store.MigrationFolder{SourceName: "INBOX", FolderID: inbox, UIDValidity: 7, LastUID: 12, HighestModSeq: 40},
		Messages: []store.MigratedMessage{migrated(3, same), migrated(5, same), migrated(9, "Subject: other\r\n\r\nx\r\n")},
		Skipped:  []store.MigrationSkippedItem{{SourceName: "INBOX", UIDValidity: 7, SourceUID: 12, Size: 30 << 20, Subject: "big", Reason: "too large"}}}
	step.Messages[1].Msg.Flags = store.FlagSeen
	step.Messages[1].Msg.Keywords = []string{"$Forwarded"}
	got, err := s.CopyMigrated(ctx, step)
	if err != nil || got.Appended != 3 || got.Deduped != 0 {
		t.Fatalf("first copy: got %+v, %v; want 3 appended", got, err)
	}
	ms := metas(t, s, inbox, all(), 0)
	if len(ms) != 3 || ms[1].Flags != store.FlagSeen || len(ms[1].Keywords) != 1 {
		t.Fatalf("inbox after copy: got %+v", ms)
	}
	// A step that fails (an empty message) writes nothing, progress included.
	bad := store.MigrationCopy{UserID: uid, Folder: store.MigrationFolder{SourceName: "INBOX", FolderID: inbox, UIDValidity: 7, LastUID: 20},
		Messages: []store.MigratedMessage{migrated(15, "Subject: ok\r\n\r\n"), {SourceUID: 16, Hash: "x"}}}
	if _, err := s.CopyMigrated(ctx, bad); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("step with an empty message: got %v; want ErrInvalid", err)
	}
	s.View(ctx, func(tx store.Tx) error {
		fs, err := tx.MigrationFolders(ctx, uid)
		if err != nil || len(fs) != 1 || fs[0] != step.Folder {
			t.Errorf("progress: got %+v, %v; want %+v", fs, err, step.Folder)
		}
		u, _ := tx.MigrationUserByMailbox(ctx, mb.ID)
		if u.ItemsSynced != 3 || u.ItemsSkipped != 1 || u.BytesTransferred != int64(2*len(same)+len("Subject: other\r\n\r\nx\r\n")) {
			t.Errorf("counters: got synced %d skipped %d bytes %d", u.ItemsSynced, u.ItemsSkipped, u.BytesTransferred)
		}
		sk, err := tx.MigrationSkipped(ctx, uid)
		if err != nil || len(sk) != 1 || sk[0].Reason != "too large" || sk[0].Size != 30<<20 {
			t.Errorf("skipped: got %+v, %v", sk, err)
		}
		m, err := tx.MigratedUIDs(ctx, uid, "INBOX", 7, []uint32{3, 5, 9, 12, 15})
		if err != nil || len(m) != 3 || m[3] != ms[0].UID || m[9] != ms[2].UID {
			t.Errorf("migrated UIDs: got %v, %v", m, err)
		}
		return nil
	})
	if len(metas(t, s, inbox, all(), 0)) != 3 {
		t.Errorf("the failed step left messages behind")
	}
	// The source's UIDVALIDITY changed: the same content under new UIDs is
	// mapped to the copies made before, each copy once; new content is
	// appended.
	again := store.MigrationCopy{UserID: uid, Folder: store.MigrationFolder{SourceName: "INBOX", FolderID: inbox, UIDValidity: 8, LastUID: 4},
		Messages: []store.MigratedMessage{migrated(1, same), migrated(2, same), migrated(3, same), migrated(4, "Subject: other\r\n\r\nx\r\n")}}
	got, err = s.CopyMigrated(ctx, again)
	if err != nil || got.Appended != 1 || got.Deduped != 3 {
		t.Errorf("re-copy after UIDVALIDITY change: got %+v, %v; want 1 appended, 3 deduped", got, err)
	}
	if n := len(metas(t, s, inbox, all(), 0)); n != 4 {
		t.Errorf("inbox after re-copy: got %d messages; want 4", n)
	}
	// Import from disk: a key is imported once.
	for i, want := range []bool{true, false} {
		added, err := s.ImportMessage(ctx, mb.ID, inbox, "maildir:INBOX:1767258000.M1P1.host", parsedMessage("Subject: disk\r\n\r\n"))
		if err != nil || added != want {
			t.Errorf("import %d: got %v, %v; want %v", i+1, added, err, want)
		}
	}
	// Removing the mailbox takes its migration user and progress along.
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteMailbox(ctx, mb.ID) }); err != nil {
		t.Fatalf("remove mailbox: %v", err)
	}
	s.View(ctx, func(tx store.Tx) error {
		if us, err := tx.MigrationUsers(ctx, batch.ID, "", 0); err != nil || len(us) != 0 {
			t.Errorf("users after the mailbox went: got %+v, %v; want none", us, err)
		}
		return nil
	})
}
