package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// sized returns a message of exactly n octets.
func sized(n int, subject string) string {
	head := "Subject: " + subject + "\r\n\r\n"
	if n < len(head) {
		panic("message too small for its header")
	}
	return head + strings.Repeat("x", n-len(head))
}

func setQuota(t *testing.T, s store.Store, mb int64, q store.MailboxQuota) {
	t.Helper()
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetMailboxQuota(ctx, mb, q, time.Now()) }); err != nil {
		t.Fatalf("set quota %+v: %v", q, err)
	}
}

func usage(t *testing.T, s store.Store, mb int64) store.MailboxUsage {
	t.Helper()
	u, err := s.MailboxUsage(ctx, mb)
	if err != nil {
		t.Fatalf("usage of %d: %v", mb, err)
	}
	return u
}

func testQuotaSetAndUsage(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Quota Show")
	if u := usage(t, s, a.ID); u != (store.MailboxUsage{}) {
		t.Errorf("new mailbox: got %+v; want empty and unlimited", u)
	}
	q := store.MailboxQuota{IssueWarning: 1000, ProhibitSend: 2000, ProhibitSendReceive: 3000}
	setQuota(t, s, a.ID, q)
	var got store.Mailbox
	s.View(ctx, func(tx store.Tx) error {
		var err error
		got, err = tx.MailboxByID(ctx, a.ID)
		return err
	})
	if got.Quota != q {
		t.Errorf("MailboxByID quota: got %+v; want %+v", got.Quota, q)
	}
	// UpdateMailbox leaves the quota alone.
	got.DisplayName = "Quota Shown"
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateMailbox(ctx, got) }); err != nil {
		t.Fatal(err)
	}
	if l := find(t, s, "Quota Shown"); len(l) != 1 || l[0].Quota != q {
		t.Errorf("after UpdateMailbox: got %+v; want quota %+v", l, q)
	}
	deliver(t, s, []int64{a.ID}, sized(100, "one"))
	sent, _ := s.FolderByName(ctx, a.ID, "Sent")
	deliverTo(t, s, sent.ID, sized(250, "two"))
	if u := usage(t, s, a.ID); u.Size != 350 || u.Messages != 2 || u.Quota != q {
		t.Errorf("usage: got %+v; want 350 octets in 2 messages, quota %+v", u, q)
	}
	setQuota(t, s, a.ID, store.MailboxQuota{})
	if u := usage(t, s, a.ID); u.Quota != (store.MailboxQuota{}) {
		t.Errorf("cleared: got %+v; want unlimited", u.Quota)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetMailboxQuota(ctx, 999999, q, time.Now()) }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("quota of a missing mailbox: got %v; want ErrNotFound", err)
	}
	if _, err := s.MailboxUsage(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("usage of a missing mailbox: got %v; want ErrNotFound", err)
	}
}

func testQuotaEnforced(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Quota Full")
	b := newMailbox(t, s, "Quota Free")
	setQuota(t, s, a.ID, store.MailboxQuota{ProhibitSendReceive: 300})
	inbox := mustInbox(t, s, a.ID)
	archive, _ := s.FolderByName(ctx, a.ID, "Archive")

	deliverTo(t, s, inbox, sized(100, "1"))
	deliver(t, s, []int64{a.ID, b.ID}, sized(100, "2"))
	// Exactly at the limit is allowed; one octet beyond is not.
	if _, _, err := s.Append(ctx, archive.ID, parsedMessage(sized(101, "too big"))); !errors.Is(err, store.ErrOverQuota) {
		t.Errorf("append beyond the limit: got %v; want ErrOverQuota", err)
	}
	deliverTo(t, s, archive.ID, sized(100, "3"))
	if u := usage(t, s, a.ID); u.Size != 300 {
		t.Fatalf("usage: got %d; want 300", u.Size)
	}
	if _, _, err := s.Append(ctx, inbox, parsedMessage(sized(20, "4"))); !errors.Is(err, store.ErrOverQuota) {
		t.Errorf("append to a full mailbox: got %v; want ErrOverQuota", err)
	}
	// A delivery to a full mailbox and another stores nothing for either.
	before := usage(t, s, b.ID)
	if _, err := s.Deliver(ctx, []int64{b.ID, a.ID}, parsedMessage(sized(20, "5"))); !errors.Is(err, store.ErrOverQuota) {
		t.Errorf("delivery to a full mailbox: got %v; want ErrOverQuota", err)
	}
	if after := usage(t, s, b.ID); after != before {
		t.Errorf("the other recipient changed: got %+v; want %+v", after, before)
	}
	deliver(t, s, []int64{b.ID}, sized(20, "5"))
	// COPY grows the mailbox; MOVE within it does not.
	if _, err := s.Copy(ctx, inbox, all(), archive.ID); !errors.Is(err, store.ErrOverQuota) {
		t.Errorf("copy in a full mailbox: got %v; want ErrOverQuota", err)
	}
	if r, err := s.Move(ctx, inbox, all(), archive.ID); err != nil || len(r.DstUIDs) != 2 {
		t.Errorf("move in a full mailbox: got %+v, %v; want 2 moved", r, err)
	}
	if u := usage(t, s, a.ID); u.Size != 300 || u.Messages != 3 {
		t.Errorf("after the refusals: got %+v; want 300 octets in 3 messages", u)
	}
	// Expunging makes room again.
	if _, err := s.Expunge(ctx, archive.ID, []store.UIDRange{{Start: 1, Stop: 1}}, false); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, []int64{a.ID}, sized(100, "6"))
	// Lowering the limit below the size removes nothing and refuses more.
	setQuota(t, s, a.ID, store.MailboxQuota{ProhibitSendReceive: 50})
	if _, err := s.Deliver(ctx, []int64{a.ID}, parsedMessage(sized(20, "7"))); !errors.Is(err, store.ErrOverQuota) {
		t.Errorf("delivery beyond a lowered limit: got %v; want ErrOverQuota", err)
	}
	if u := usage(t, s, a.ID); u.Size != 300 {
		t.Errorf("after lowering: got %d; want 300 kept", u.Size)
	}
	// Unlimited again.
	setQuota(t, s, a.ID, store.MailboxQuota{IssueWarning: 10, ProhibitSend: 20})
	deliver(t, s, []int64{a.ID}, sized(2000, "8"))
	if rep, err := s.Repair(ctx, false); err != nil || !rep.OK() {
		t.Errorf("repair check: %+v, %v", rep, err)
	}
}

// testQuotaConcurrent races appends, deliveries and copies into one
// mailbox toward its limit: exactly as many as fit are stored, never more,
// and every other one is refused with ErrOverQuota.
func testQuotaConcurrent(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Quota Race")
	other := newMailbox(t, s, "Quota Race Other")
	const size, fit, writers, each = 200, 10, 8, 4
	setQuota(t, s, a.ID, store.MailboxQuota{ProhibitSendReceive: size * fit})
	inbox := mustInbox(t, s, a.ID)
	sent, _ := s.FolderByName(ctx, a.ID, "Sent")
	var mu sync.Mutex
	stored := 0
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				msg := parsedMessage(sized(size, fmt.Sprintf("%d-%d", w, i)))
				var n int
				var err error
				switch (w + i) % 3 {
				case 0:
					_, _, err = s.Append(ctx, inbox, msg)
					n = 1
				case 1:
					_, _, err = s.Append(ctx, sent.ID, msg)
					n = 1
				default:
					// Another recipient that has room: refused with it.
					_, err = s.Deliver(ctx, []int64{other.ID, a.ID}, msg)
					n = 1
				}
				switch {
				case err == nil:
					mu.Lock()
					stored += n
					mu.Unlock()
				case !errors.Is(err, store.ErrOverQuota):
					errs <- fmt.Errorf("writer %d, write %d: %v", w, i, err)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	u := usage(t, s, a.ID)
	if stored != fit || u.Size != size*fit || u.Messages != fit {
		t.Errorf("stored %d, usage %+v; want exactly %d messages, %d octets", stored, u, fit, size*fit)
	}
	// Copies racing for the room that expunges make: never beyond.
	if _, err := s.Expunge(ctx, inbox, nil, false); err != nil {
		t.Fatal(err)
	}
	room := size*fit - usage(t, s, a.ID).Size
	src, _ := s.FolderByName(ctx, a.ID, "Sent")
	var copied int64
	var cwg sync.WaitGroup
	for i := 0; i < writers; i++ {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			r, err := s.Copy(ctx, src.ID, []store.UIDRange{{Start: 1, Stop: 1<<32 - 1}}, inbox)
			switch {
			case err == nil:
				mu.Lock()
				copied += int64(len(r.DstUIDs)) * size
				mu.Unlock()
			case !errors.Is(err, store.ErrOverQuota):
				t.Errorf("copy: %v", err)
			}
		}()
	}
	cwg.Wait()
	if u := usage(t, s, a.ID); u.Size > size*fit || copied > room {
		t.Errorf("after racing copies: usage %d (copied %d into %d of room); want at most %d", u.Size, copied, room, size*fit)
	}
	if rep, err := s.Repair(ctx, false); err != nil || !rep.OK() {
		t.Errorf("repair check: %+v, %v", rep, err)
	}
}

// testRecipient: Recipient finds a mailbox by any of its addresses, in any
// case, with its ProhibitSendReceiveQuota and, when it has one, its size.
func testRecipient(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Rcpt Lookup", "rcpt.other@contoso.com")
	newMailbox(t, s, "Rcpt Neighbour")
	deliver(t, s, []int64{a.ID}, sized(1500, "one"))
	deliver(t, s, []int64{a.ID}, sized(700, "two"))
	for _, addr := range []string{"rcpt.lookup@contoso.com", "RCPT.Other@Contoso.com"} {
		r, err := s.Recipient(ctx, addr)
		if err != nil {
			t.Fatalf("Recipient(%s): %v", addr, err)
		}
		if want := (store.Recipient{MailboxID: a.ID}); r != want {
			t.Errorf("Recipient(%s) without a quota: got %+v; want %+v", addr, r, want)
		}
	}
	// A quota without ProhibitSendReceive reads as none: RCPT refuses
	// only on that one.
	setQuota(t, s, a.ID, store.MailboxQuota{IssueWarning: 1000, ProhibitSend: 2000})
	if r, err := s.Recipient(ctx, "rcpt.lookup@contoso.com"); err != nil || r != (store.Recipient{MailboxID: a.ID}) {
		t.Errorf("Recipient with only warning and send quotas: got %+v, %v; want mailbox %d, no quota, no size", r, err, a.ID)
	}
	q := store.MailboxQuota{ProhibitSendReceive: 1 << 20}
	setQuota(t, s, a.ID, q)
	r, err := s.Recipient(ctx, "RCPT.Other@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if want := usage(t, s, a.ID).Size; want != 2200 || r != (store.Recipient{MailboxID: a.ID, ProhibitSendReceive: 1 << 20, Used: want}) {
		t.Errorf("Recipient with a quota: got %+v; want mailbox %d, quota %d, used %d (MailboxUsage) = 2200", r, a.ID, 1<<20, want)
	}
	if _, err := s.Recipient(ctx, "nobody@contoso.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Recipient of an unknown address: got %v; want ErrNotFound", err)
	}
}

// testSignInState: SignInState reads what OrgConfig and MailboxByID read,
// in one query; ErrNotFound for a missing mailbox.
func testSignInState(t *testing.T, s store.Store) {
	org := store.OrgConfig{Name: "Contoso", Domain: "contoso.com", SecurityDefaultsEnabled: true,
		WhenChanged: time.Now().UTC().Truncate(time.Microsecond)}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.SetOrgConfig(ctx, org) }); err != nil {
		t.Fatal(err)
	}
	a := newMailbox(t, s, "Sign In", "sign.in.other@contoso.com")
	setQuota(t, s, a.ID, store.MailboxQuota{IssueWarning: 1 << 20})
	var wantOrg store.OrgConfig
	var wantMailbox store.Mailbox
	if err := s.View(ctx, func(tx store.Tx) error {
		var err error
		if wantOrg, err = tx.OrgConfig(ctx); err != nil {
			return err
		}
		wantMailbox, err = tx.MailboxByID(ctx, a.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	gotOrg, gotMailbox, err := s.SignInState(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotOrg, wantOrg) || !gotOrg.SecurityDefaultsEnabled {
		t.Errorf("organization: got %+v; want %+v", gotOrg, wantOrg)
	}
	if !reflect.DeepEqual(gotMailbox, wantMailbox) {
		t.Errorf("mailbox: got %+v; want %+v", gotMailbox, wantMailbox)
	}
	if _, _, err := s.SignInState(ctx, a.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a missing mailbox: got %v; want ErrNotFound", err)
	}
}

// testAppendTarget: AppendTarget reads what FolderByName and MailboxUsage
// read, in one query; a folder the mailbox lacks (another mailbox's of
// that name too) is not found, with the usage still read; ErrNotFound
// for a missing mailbox.
func testAppendTarget(t *testing.T, s store.Store) {
	a := newMailbox(t, s, "Append Target")
	b := newMailbox(t, s, "Append Neighbour")
	q := store.MailboxQuota{IssueWarning: 1 << 19, ProhibitSend: 1 << 20, ProhibitSendReceive: 1 << 21}
	setQuota(t, s, a.ID, q)
	deliver(t, s, []int64{a.ID}, sized(1500, "one"))
	projects, err := s.CreateFolder(ctx, a.ID, "Projects", "")
	if err != nil {
		t.Fatal(err)
	}
	deliverTo(t, s, projects.ID, sized(700, "two"))
	if _, err := s.CreateFolder(ctx, b.ID, "Elsewhere", ""); err != nil {
		t.Fatal(err)
	}
	want := usage(t, s, a.ID)
	if want.Size != 2200 || want.Messages != 2 || want.Quota != q {
		t.Fatalf("MailboxUsage: got %+v; want 2,200 octets in 2 messages, quota %+v", want, q)
	}
	for _, name := range []string{"INBOX", "Projects"} {
		wantFolder, err := s.FolderByName(ctx, a.ID, name)
		if err != nil {
			t.Fatal(err)
		}
		f, found, u, err := s.AppendTarget(ctx, a.ID, name)
		if err != nil || !found {
			t.Fatalf("AppendTarget(%s): found %v, %v", name, found, err)
		}
		if f != wantFolder {
			t.Errorf("AppendTarget(%s) folder: got %+v; want %+v (FolderByName)", name, f, wantFolder)
		}
		if u != want {
			t.Errorf("AppendTarget(%s) usage: got %+v; want %+v (MailboxUsage)", name, u, want)
		}
	}
	for _, name := range []string{"Missing", "Elsewhere", "projects"} {
		f, found, u, err := s.AppendTarget(ctx, a.ID, name)
		if err != nil || found || f != (store.Folder{}) {
			t.Errorf("AppendTarget(%s), a folder the mailbox lacks: got %+v, found %v, %v; want none", name, f, found, err)
		}
		if u != want {
			t.Errorf("AppendTarget(%s) usage: got %+v; want %+v (MailboxUsage)", name, u, want)
		}
	}
	if _, _, _, err := s.AppendTarget(ctx, a.ID+b.ID+1000, "INBOX"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a missing mailbox: got %v; want ErrNotFound", err)
	}
}
