package migration_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/gatehouse-mail/gatehouse/internal/migration"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/postgres"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/dovecot"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

const sourcePassword = "Source-Pass-1"

// Users of the fixture: five migrated mailboxes (emma's through the
// source's master user) plus one with a wrong password and one with a
// small quota.
var fixtureUsers = []string{"ann", "bob", "cara", "dave", "emma", "frank", "gina"}

var folderMap = dovecot.FolderMap()

func seed(t *testing.T, src *dovecot.Source) {
	t.Helper()
	for ui, u := range fixtureUsers {
		n := 210
		if u == "frank" || u == "gina" {
			n = 6
		}
		src.Seed(t, u, n, ui, u == "ann")
		if u == "gina" {
			// Over the engine's size limit (21 MB) and, for the rest, over
			// the quota of her mailbox.
			c := src.Dial(t, u)
			huge := append([]byte("Subject: too big\r\n\r\n"), bytes.Repeat([]byte("y"), 21_500_000)...)
			dovecot.Append(t, c, "INBOX", huge, nil, time.Now())
			c.Logout().Wait()
		}
	}
}

// gatehouseSnapshot reads a mailbox from the store in the shape of
// dovecot.Snapshot.
func gatehouseSnapshot(t *testing.T, s store.Store, mailboxID int64) dovecot.Snapshot {
	t.Helper()
	ctx := context.Background()
	fs, err := s.Folders(ctx, mailboxID)
	if err != nil {
		t.Fatal(err)
	}
	out := dovecot.Snapshot{}
	for _, f := range fs {
		msgs := []dovecot.Message{}
		err := s.Messages(ctx, f.ID, []store.UIDRange{{Start: 1, Stop: 1<<32 - 1}}, 0, func(m store.MessageMeta) error {
			raw, err := io.ReadAll(io.NewSectionReader(bodyReader{s, m.BodyID}, 0, m.Size))
			if err != nil {
				return err
			}
			sum := sha256.Sum256(raw)
			var flags []string
			for bit, name := range map[store.Flags]string{store.FlagSeen: `\seen`, store.FlagAnswered: `\answered`, store.FlagFlagged: `\flagged`,
				store.FlagDeleted: `\deleted`, store.FlagDraft: `\draft`} {
				if m.Flags&bit != 0 {
					flags = append(flags, name)
				}
			}
			for _, k := range m.Keywords {
				flags = append(flags, strings.ToLower(k))
			}
			slices.Sort(flags)
			msgs = append(msgs, dovecot.Message{Hash: hex.EncodeToString(sum[:]), Size: len(raw), Flags: flags, Internal: m.InternalDate.Unix()})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(msgs, func(i, j int) bool { return msgs[i].String() < msgs[j].String() })
		out[f.Name] = msgs
	}
	return out
}

type bodyReader struct {
	s  store.Store
	id int64
}

func (r bodyReader) ReadAt(p []byte, off int64) (int, error) {
	return r.s.ReadBody(context.Background(), r.id, off, p)
}

func compare(t *testing.T, user string, src, got dovecot.Snapshot, skipped int) int {
	t.Helper()
	return dovecot.Compare(t, user, src, got, folderMap, skipped)
}

type fixture struct {
	src   *dovecot.Source
	st    store.Store
	mbs   map[string]store.Mailbox
	batch store.MigrationBatch
	keys  *migration.Keyring
	dir   string // the SQLite file and the keyring (SQLite only)
}

func newFixture(t *testing.T, postgresEngine bool) *fixture {
	t.Helper()
	dovecot.Need(t)
	f := &fixture{mbs: map[string]store.Mailbox{}}
	f.src = dovecot.StartSource(t, fixtureUsers, sourcePassword)
	seed(t, f.src)
	dir := t.TempDir()
	f.dir = dir
	var st store.Store
	var err error
	if postgresEngine {
		st, err = postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{})
	} else {
		st, err = sqlite.Open(context.Background(), filepath.Join(dir, "gatehouse.db"), sqlite.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st
	f.keys, err = migration.LoadKeyring(filepath.Join(dir, migration.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ep := store.MigrationEndpoint{Name: "Old", EndpointType: "IMAP", RemoteServer: "127.0.0.1", Port: f.src.Port, Security: "None",
		Authentication: "Basic", MaxConcurrentMigrations: 3}
	var users []store.MigrationUser
	for _, u := range fixtureUsers {
		m := store.Mailbox{Name: u, DisplayName: u, Alias: u, PrimarySmtpAddress: u + "@contoso.com", UserPrincipalName: u + "@contoso.com", PasswordHash: "x"}
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
			t.Fatal(err)
		}
		f.mbs[u] = m
		login, pw := u, sourcePassword
		switch u {
		case "frank":
			pw = "wrong"
		case "emma":
			// Signed in through the source's master user.
			login, pw = "emma*"+dovecot.MasterUser, dovecot.MasterPassword
		}
		sealed, err := f.keys.Seal([]byte(pw))
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, store.MigrationUser{MailboxID: m.ID, EmailAddress: m.PrimarySmtpAddress, UserName: login, Secret: sealed})
	}
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.SetMailboxQuota(ctx, f.mbs["gina"].ID, store.MailboxQuota{ProhibitSendReceive: 3000}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	f.batch = store.MigrationBatch{Name: "B1", Status: store.MigrationSyncing}
	if err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertMigrationEndpoint(ctx, &ep); err != nil {
			return err
		}
		f.batch.EndpointID = ep.ID
		return tx.InsertMigrationBatch(ctx, &f.batch, users)
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) engine() *migration.Engine {
	return migration.New(migration.Options{Store: f.st, Keyring: f.keys, PollInterval: 50 * time.Millisecond, StepMessages: 40,
		MaxMessageSize: 21e6, RetryDelay: 50 * time.Millisecond})
}

func (f *fixture) batchState(t *testing.T) (store.MigrationBatch, []store.MigrationUser) {
	t.Helper()
	var b store.MigrationBatch
	var us []store.MigrationUser
	ctx := context.Background()
	if err := f.st.View(ctx, func(tx store.Tx) error {
		var err error
		if b, err = tx.MigrationBatch(ctx, "", f.batch.ID); err != nil {
			return err
		}
		us, err = tx.MigrationUsers(ctx, f.batch.ID, "", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return b, us
}

// waitFor polls the batch until cond holds (no time limit of its own: the
// test's -timeout is the limit).
func (f *fixture) waitFor(t *testing.T, what string, cond func(store.MigrationBatch, []store.MigrationUser) bool) {
	t.Helper()
	for {
		b, us := f.batchState(t)
		if cond(b, us) {
			return
		}
		if b.Status == store.MigrationFailed {
			t.Fatalf("batch failed while waiting for %s: %s; users %+v", what, b.Error, us)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fixture) restart(t *testing.T, status string) {
	t.Helper()
	ctx := context.Background()
	if err := f.st.Update(ctx, func(tx store.Tx) error {
		b, err := tx.MigrationBatch(ctx, "", f.batch.ID)
		if err != nil {
			return err
		}
		b.Status = status
		return tx.UpdateMigrationBatch(ctx, b)
	}); err != nil {
		t.Fatal(err)
	}
}

// checkAll compares the five migrated users' mailboxes with the source.
func (f *fixture) checkAll(t *testing.T) {
	t.Helper()
	n := 0
	for _, u := range fixtureUsers[:5] {
		c := f.src.Dial(t, u)
		src := dovecot.Take(t, c)
		c.Logout().Wait()
		n += compare(t, u, src, gatehouseSnapshot(t, f.st, f.mbs[u].ID), 0)
	}
	t.Logf("%d messages compared with the source", n)
}

func synced(b store.MigrationBatch, _ []store.MigrationUser) bool {
	return b.Status == store.MigrationSynced
}

func TestBatchFromDovecot(t *testing.T) { batchFromDovecot(t, false) }

// TestBatchFromDovecotPostgres is the same on PostgreSQL.
func TestBatchFromDovecotPostgres(t *testing.T) { batchFromDovecot(t, true) }

func batchFromDovecot(t *testing.T, pg bool) {
	f := newFixture(t, pg)
	ctx := context.Background()

	// First sync, interrupted mid-way: the engine stops (as at a crash, a
	// step is committed whole or not at all) and a new one goes on.
	first := time.Now()
	ctx1, stop1 := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.engine().Run(ctx1); close(done) }()
	f.waitFor(t, "some progress", func(_ store.MigrationBatch, us []store.MigrationUser) bool {
		n := int64(0)
		for _, u := range us {
			n += u.ItemsSynced
		}
		return n >= 200
	})
	stop1()
	<-done
	b, us := f.batchState(t)
	t.Logf("interrupted after %d users' progress: %s", len(us), progressLine(us))
	if b.Status != store.MigrationSyncing {
		t.Fatalf("batch after the interruption: %s; want still Syncing", b.Status)
	}
	ctx2, stop2 := context.WithCancel(ctx)
	defer stop2()
	go f.engine().Run(ctx2)
	f.waitFor(t, "the first sync", synced)
	elapsed := time.Since(first)
	b, us = f.batchState(t)
	total := int64(0)
	for _, u := range us {
		total += u.ItemsSynced
	}
	t.Logf("first sync: %d messages in %v (%.0f messages/s, with the interruption)", total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())

	check := func(stage string) {
		t.Helper()
		compared := 0
		for _, u := range fixtureUsers {
			if u == "frank" || u == "gina" {
				continue
			}
			c := f.src.Dial(t, u)
			src := dovecot.Take(t, c)
			c.Logout().Wait()
			compared += compare(t, u, src, gatehouseSnapshot(t, f.st, f.mbs[u].ID), 0)
		}
		t.Logf("%s: %d messages compared with the source", stage, compared)
		if compared < 1000 {
			t.Errorf("%s: compared %d messages; want the 1,000+ of the fixture", stage, compared)
		}
	}
	check("after the first sync")

	byName := map[string]store.MigrationUser{}
	for _, u := range us {
		byName[strings.TrimSuffix(u.EmailAddress, "@contoso.com")] = u
	}
	for _, u := range us {
		if u.Status != store.MigrationSynced && u.EmailAddress != "frank@contoso.com" {
			t.Errorf("%s: %s %q; want Synced", u.EmailAddress, u.Status, u.Error)
		}
	}
	if u := byName["frank"]; u.Status != store.MigrationFailed || !strings.Contains(u.Error, "AUTHENTICATIONFAILED") {
		t.Errorf("frank (wrong password): got %s %q; want Failed with the source's reason", u.Status, u.Error)
	}
	if b.Error == "" || !strings.Contains(b.Error, "1 of 7") {
		t.Errorf("batch error: got %q; want it to say that 1 of 7 users failed", b.Error)
	}
	var skipped []store.MigrationSkippedItem
	f.st.View(ctx, func(tx store.Tx) error {
		var err error
		skipped, err = tx.MigrationSkipped(ctx, byName["gina"].ID)
		return err
	})
	reasons := map[string]int{}
	for _, s := range skipped {
		for _, r := range []string{migration.ReasonTooLarge, migration.ReasonOverQuota} {
			if strings.HasPrefix(s.Reason, r) {
				reasons[r]++
			}
		}
	}
	if reasons[migration.ReasonTooLarge] != 1 || reasons[migration.ReasonOverQuota] == 0 || byName["gina"].Status != store.MigrationSynced {
		t.Errorf("gina: status %s, skipped %+v; want Synced with 1 too large and some over quota", byName["gina"].Status, skipped)
	}
	if g := byName["gina"]; g.ItemsSkipped != int64(len(skipped)) || g.ItemsSynced+g.ItemsSkipped != 7 {
		t.Errorf("gina's counters: synced %d skipped %d; want 7 in all, %d skipped", g.ItemsSynced, g.ItemsSkipped, len(skipped))
	}

	// Nothing new: an incremental sync.
	start := time.Now()
	f.restart(t, store.MigrationSyncing)
	f.waitFor(t, "an empty incremental sync", func(b store.MigrationBatch, _ []store.MigrationUser) bool {
		return b.Status == store.MigrationSynced && b.LastSyncedTime.After(start)
	})
	t.Logf("incremental sync with nothing new: %v for %d users", time.Since(start).Round(time.Millisecond), len(fixtureUsers))
	_, us2 := f.batchState(t)
	for i := range us2 {
		if us2[i].ItemsSynced != us[i].ItemsSynced {
			t.Errorf("%s: items synced went from %d to %d with nothing new", us2[i].EmailAddress, us[i].ItemsSynced, us2[i].ItemsSynced)
		}
	}

	// New mail, changed flags, and a folder whose UIDVALIDITY changes.
	c := f.src.Dial(t, "bob")
	for i := 500; i < 505; i++ {
		raw, flags, date := dovecot.FixtureMessage("bob", i)
		dovecot.Append(t, c, "INBOX", raw, flags, date)
	}
	dovecot.Append(t, c, "Neu", []byte("Subject: in a new folder\r\n\r\nhi\r\n"), []imap.Flag{"$Label2"}, time.Now())
	folderMap["Neu"] = "Neu"
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var first3 imap.SeqSet
	first3.AddRange(1, 3)
	if err := c.Store(first3, &imap.StoreFlags{Op: imap.StoreFlagsSet, Flags: []imap.Flag{imap.FlagFlagged, "Changed"}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	// Dovecot gives a folder a new UIDVALIDITY when its uidlist and
	// indexes are gone.
	md := filepath.Join(f.src.Dir, "mail", "cara", "Maildir", ".Archiv.2024")
	os.Remove(filepath.Join(md, "dovecot-uidlist"))
	os.RemoveAll(filepath.Join(f.src.Dir, "index", "cara", ".Archiv.2024"))
	validity := func() uint32 {
		var fs []store.MigrationFolder
		f.st.View(ctx, func(tx store.Tx) error {
			var err error
			fs, err = tx.MigrationFolders(ctx, byName["cara"].ID)
			return err
		})
		for _, p := range fs {
			if p.SourceName == "Archiv.2024" {
				return p.UIDValidity
			}
		}
		t.Fatalf("no progress of cara's Archiv.2024: %+v", fs)
		return 0
	}
	before := validity()
	start = time.Now()
	f.restart(t, store.MigrationSyncing)
	f.waitFor(t, "an incremental sync", func(b store.MigrationBatch, _ []store.MigrationUser) bool {
		return b.Status == store.MigrationSynced && b.LastSyncedTime.After(start)
	})
	if after := validity(); after == before {
		t.Errorf("cara's Archiv.2024 kept UIDVALIDITY %d; the test meant to change it", before)
	}
	check("after the incremental sync")

	// Room in gina's mailbox: what was skipped over quota is copied at the
	// next sync and leaves the list; the oversize message stays on it.
	if err := f.st.Update(ctx, func(tx store.Tx) error {
		return tx.SetMailboxQuota(ctx, f.mbs["gina"].ID, store.MailboxQuota{}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	f.restart(t, store.MigrationSyncing)
	f.waitFor(t, "the sync after gina's quota was raised", func(b store.MigrationBatch, _ []store.MigrationUser) bool {
		return b.Status == store.MigrationSynced && b.LastSyncedTime.After(start)
	})
	_, us = f.batchState(t)
	for _, u := range us {
		byName[strings.TrimSuffix(u.EmailAddress, "@contoso.com")] = u
	}
	f.st.View(ctx, func(tx store.Tx) error {
		var err error
		skipped, err = tx.MigrationSkipped(ctx, byName["gina"].ID)
		return err
	})
	if g := byName["gina"]; len(skipped) != 1 || !strings.HasPrefix(skipped[0].Reason, migration.ReasonTooLarge) ||
		g.ItemsSkipped != 1 || g.ItemsSynced != 6 {
		t.Errorf("gina after her quota was raised: synced %d skipped %d %+v; want 6 synced and only the oversize message skipped",
			g.ItemsSynced, g.ItemsSkipped, skipped)
	}
	c = f.src.Dial(t, "gina")
	src := dovecot.Take(t, c)
	c.Logout().Wait()
	compare(t, "gina", src, gatehouseSnapshot(t, f.st, f.mbs["gina"].ID), 1)
	if !pg {
		measure(t, f)
	}
}

// measure logs the first-sync rate of one user (one session, as Dovecot's
// own FETCH of the same mail in one session), and the time of an
// incremental sync with nothing new. Figures only; nothing is asserted on
// them.
func measure(t *testing.T, f *fixture) {
	ctx := context.Background()
	m := store.Mailbox{Name: "bobcopy", DisplayName: "bobcopy", Alias: "bobcopy", PrimarySmtpAddress: "bobcopy@contoso.com", UserPrincipalName: "bobcopy@contoso.com", PasswordHash: "x"}
	u := store.MigrationUser{EmailAddress: m.PrimarySmtpAddress, UserName: "bob"}
	b := store.MigrationBatch{Name: "Measure", EndpointID: f.batch.EndpointID, Status: store.MigrationCreated}
	if err := f.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.InsertMailbox(ctx, &m); err != nil {
			return err
		}
		u.MailboxID = m.ID
		users := []store.MigrationUser{u}
		err := tx.InsertMigrationBatch(ctx, &b, users)
		u = users[0]
		return err
	}); err != nil {
		t.Fatal(err)
	}
	src := migration.Source{Server: "127.0.0.1", Port: f.src.Port, Security: "None"}
	eng := migration.New(migration.Options{Store: f.st, Keyring: f.keys, MaxMessageSize: 21e6})
	st, err := eng.SyncUser(ctx, src, b, u, sourcePassword)
	if err != nil {
		t.Fatal(err)
	}
	c := f.src.Dial(t, "bob")
	start := time.Now()
	snap := dovecot.Take(t, c)
	dovecotTime := time.Since(start)
	c.Logout().Wait()
	n := 0
	for _, ms := range snap {
		n += len(ms)
	}
	t.Logf("first sync of one user, one session: %d messages in %v = %.0f messages/s; Dovecot's own FETCH of the same %d messages (BODY.PEEK[] FLAGS INTERNALDATE, one session): %v = %.0f messages/s",
		st.Copied, st.Duration.Round(time.Millisecond), float64(st.Copied)/st.Duration.Seconds(), n, dovecotTime.Round(time.Millisecond), float64(n)/dovecotTime.Seconds())
	again, err := eng.SyncUser(ctx, src, b, u, sourcePassword)
	if err != nil || again.Copied != 0 {
		t.Fatalf("second sync: %+v, %v; want nothing copied", again, err)
	}
	t.Logf("incremental sync of one user with nothing new (%d folders): %v", again.Folders, again.Duration.Round(time.Millisecond))
}

func progressLine(us []store.MigrationUser) string {
	var parts []string
	for _, u := range us {
		parts = append(parts, fmt.Sprintf("%s %s %d", u.EmailAddress, u.Status, u.ItemsSynced))
	}
	return strings.Join(parts, "; ")
}

// TestStopMidSync stops a batch in the middle of its first sync (as
// Stop-MigrationBatch does): the users under way end Stopped, the batch
// stays Stopped, and a start afterwards goes on to the same result as an
// uninterrupted sync.
func TestStopMidSync(t *testing.T) {
	f := newFixture(t, false)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go f.engine().Run(ctx)
	f.waitFor(t, "some progress", func(_ store.MigrationBatch, us []store.MigrationUser) bool {
		n := int64(0)
		for _, u := range us {
			n += u.ItemsSynced
		}
		return n >= 100
	})
	f.restart(t, store.MigrationStopped)
	f.waitFor(t, "every user to stop", func(b store.MigrationBatch, us []store.MigrationUser) bool {
		for _, u := range us {
			if u.Status == store.MigrationSyncing {
				return false
			}
		}
		return b.Status == store.MigrationStopped
	})
	_, us := f.batchState(t)
	stopped := 0
	for _, u := range us {
		if u.Status == store.MigrationStopped {
			stopped++
		}
	}
	if stopped == 0 {
		t.Errorf("after Stop: no user Stopped: %s", progressLine(us))
	}
	t.Logf("stopped: %s", progressLine(us))
	f.restart(t, store.MigrationSyncing)
	f.waitFor(t, "the sync after the stop", synced)
	for _, u := range fixtureUsers[:5] {
		c := f.src.Dial(t, u)
		src := dovecot.Take(t, c)
		c.Logout().Wait()
		compare(t, u, src, gatehouseSnapshot(t, f.st, f.mbs[u].ID), 0)
	}
}
