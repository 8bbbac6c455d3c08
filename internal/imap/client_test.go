package imap_test

import (
	"bytes"
	"crypto/tls"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// dialClient logs a go-imap client in as user.
func dialClient(t *testing.T, e *env, user string, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(nc, opts)
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, "pw-"+user).Wait(); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

func readMsg(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/msgs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// TestGoIMAPClient drives the server with go-imap v2's client, in both
// protocol revisions.
func TestGoIMAPClient(t *testing.T) {
	for _, rev2 := range []bool{false, true} {
		name := "IMAP4rev1"
		if rev2 {
			name = "IMAP4rev2"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.deliver(t, readMsg(t, "simple.eml"), "alice")
			e.deliver(t, readMsg(t, "multipart.eml"), "alice")
			var exists atomic.Uint32
			c := dialClient(t, e, "alice", &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
				Mailbox: func(d *imapclient.UnilateralDataMailbox) {
					if d.NumMessages != nil {
						exists.Store(*d.NumMessages)
					}
				},
			}})
			if rev2 {
				if _, err := c.Enable(goimap.CapIMAP4rev2).Wait(); err != nil {
					t.Fatalf("ENABLE: %v", err)
				}
			}
			if !c.Caps().Has(goimap.CapIMAP4rev2) || !c.Caps().Has(goimap.CapMove) {
				t.Errorf("capabilities %v lack IMAP4rev2 or MOVE", c.Caps())
			}

			boxes, err := c.List("", "*", nil).Collect()
			if err != nil {
				t.Fatalf("LIST: %v", err)
			}
			names := map[string]bool{}
			for _, b := range boxes {
				names[b.Mailbox] = true
			}
			for _, want := range []string{"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"} {
				if !names[want] {
					t.Errorf("LIST lacks %s: %v", want, names)
				}
			}

			if err := c.Create("Schöne Grüße/Sub", nil).Wait(); err != nil {
				t.Fatalf("CREATE: %v", err)
			}
			boxes, err = c.List("", "Sch*", nil).Collect()
			if err != nil || len(boxes) != 2 || boxes[0].Mailbox != "Schöne Grüße" || boxes[1].Mailbox != "Schöne Grüße/Sub" {
				t.Errorf("LIST of the new mailboxes = %+v, %v; want Schöne Grüße and Schöne Grüße/Sub", boxes, err)
			}

			sel, err := c.Select("INBOX", nil).Wait()
			if err != nil {
				t.Fatalf("SELECT: %v", err)
			}
			if sel.NumMessages != 2 || sel.UIDValidity == 0 || sel.UIDNext != 3 {
				t.Errorf("SELECT = %+v; want 2 messages, UIDNEXT 3", sel)
			}

			msgs, err := c.Fetch(goimap.SeqSetNum(1, 2), &goimap.FetchOptions{
				UID: true, Flags: true, Envelope: true, RFC822Size: true, InternalDate: true,
				BodyStructure: &goimap.FetchItemBodyStructure{Extended: true},
				BodySection: []*goimap.FetchItemBodySection{
					{Peek: true},
					{Specifier: goimap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true},
				},
			}).Collect()
			if err != nil || len(msgs) != 2 {
				t.Fatalf("FETCH: %d messages, %v", len(msgs), err)
			}
			if got := msgs[0].Envelope.Subject; got != "afternoon meeting" {
				t.Errorf("subject = %q; want afternoon meeting", got)
			}
			if got := msgs[1].Envelope.Subject; got != "Café report" {
				t.Errorf("decoded subject = %q; want Café report", got)
			}
			if !msgs[0].InternalDate.Equal(testDate) {
				t.Errorf("INTERNALDATE = %v; want %v", msgs[0].InternalDate, testDate)
			}
			if whole := msgs[0].BodySection[0].Bytes; int64(len(whole)) != msgs[0].RFC822Size || !bytes.Equal(whole, readMsg(t, "simple.eml")) {
				t.Errorf("BODY[] is %d bytes, RFC822.SIZE %d, equal to the message: %v", len(whole), msgs[0].RFC822Size, bytes.Equal(whole, readMsg(t, "simple.eml")))
			}
			if got := string(msgs[0].BodySection[1].Bytes); got != "Subject: afternoon meeting\r\n\r\n" {
				t.Errorf("HEADER.FIELDS = %q", got)
			}
			mp, ok := msgs[1].BodyStructure.(*goimap.BodyStructureMultiPart)
			if !ok || mp.Subtype != "MIXED" || len(mp.Children) != 3 {
				t.Fatalf("BODYSTRUCTURE = %#v; want multipart/mixed with 3 parts", msgs[1].BodyStructure)
			}
			if att, ok := mp.Children[2].(*goimap.BodyStructureSinglePart); !ok || att.Filename() != "data.bin" {
				t.Errorf("third part = %#v; want the attachment data.bin", mp.Children[2])
			}
			// \Recent exists in IMAP4rev1 only.
			if got := hasFlag(msgs[0].Flags, `\Recent`); got == rev2 {
				t.Errorf("flags = %v; Recent present %v, want %v", msgs[0].Flags, got, !rev2)
			}

			bin, err := c.Fetch(goimap.SeqSetNum(2), &goimap.FetchOptions{
				BinarySection: []*goimap.FetchItemBinarySection{{Part: []int{3}, Peek: true}},
			}).Collect()
			if err != nil || len(bin) != 1 || !bytes.Equal(bin[0].BinarySection[0].Bytes, []byte{0, 1, 2, 3, 4, 5, 6, 7}) {
				t.Errorf("BINARY[3] = %+v, %v; want bytes 0..7", bin, err)
			}

			// SEARCH over the summary columns and the body.
			res, err := c.UIDSearch(&goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "Subject", Value: "café"}}}, nil).Wait()
			if err != nil || len(res.AllUIDs()) != 1 || res.AllUIDs()[0] != 2 {
				t.Errorf("UID SEARCH SUBJECT café = %+v, %v; want UID 2", res, err)
			}
			res, err = c.Search(&goimap.SearchCriteria{Body: []string{"KUMQUAT"}}, nil).Wait()
			if err != nil || len(res.AllSeqNums()) != 1 || res.AllSeqNums()[0] != 2 {
				t.Errorf("SEARCH BODY kumquat = %+v, %v; want 2", res, err)
			}

			// STORE and the flags it reports.
			st, err := c.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagFlagged, "$Label1"}}, nil).Collect()
			if err != nil || len(st) != 1 || !hasFlag(st[0].Flags, goimap.FlagFlagged) || !hasFlag(st[0].Flags, "$Label1") {
				t.Errorf("STORE = %+v, %v", st, err)
			}

			// APPEND with APPENDUID.
			raw := []byte("Subject: appended by go-imap\r\n\r\nbody\r\n")
			ap := c.Append("INBOX", int64(len(raw)), &goimap.AppendOptions{Flags: []goimap.Flag{goimap.FlagSeen}})
			ap.Write(raw)
			ap.Close()
			ad, err := ap.Wait()
			if err != nil || ad.UID != 3 {
				t.Fatalf("APPEND = %+v, %v; want UID 3", ad, err)
			}
			if err := c.Noop().Wait(); err != nil {
				t.Fatal(err)
			}
			if got := c.Mailbox().NumMessages; got != 3 {
				t.Errorf("after APPEND the client sees %d messages; want 3", got)
			}

			// COPY and MOVE with COPYUID.
			cd, err := c.Copy(goimap.SeqSetNum(1), "Archive").Wait()
			if err != nil || cd.DestUIDs.String() != "1" {
				t.Errorf("COPY = %+v, %v", cd, err)
			}
			md, err := c.Move(goimap.SeqSetNum(3), "Trash").Wait()
			if err != nil || md.DestUIDs.String() != "1" {
				t.Errorf("MOVE = %+v, %v", md, err)
			}
			if got := c.Mailbox().NumMessages; got != 2 {
				t.Errorf("after MOVE the client sees %d messages; want 2", got)
			}

			// STATUS.
			sd, err := c.Status("Archive", &goimap.StatusOptions{NumMessages: true, UIDNext: true, Size: true}).Wait()
			if err != nil || sd.NumMessages == nil || *sd.NumMessages != 1 || sd.Size == nil || *sd.Size == 0 {
				t.Errorf("STATUS Archive = %+v, %v", sd, err)
			}

			// IDLE woken by a delivery.
			exists.Store(0)
			idle, err := c.Idle()
			if err != nil {
				t.Fatalf("IDLE: %v", err)
			}
			e.deliver(t, readMsg(t, "simple.eml"), "alice")
			deadline := time.Now().Add(2 * time.Second)
			for exists.Load() != 3 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := exists.Load(); got != 3 {
				t.Errorf("during IDLE the client saw EXISTS %d; want 3 within a second", got)
			}
			if err := idle.Close(); err != nil {
				t.Fatal(err)
			}
			if err := idle.Wait(); err != nil {
				t.Fatalf("IDLE end: %v", err)
			}

			// EXPUNGE.
			if _, err := c.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Silent: true, Flags: []goimap.Flag{goimap.FlagDeleted}}, nil).Collect(); err != nil {
				t.Fatal(err)
			}
			ex, err := c.Expunge().Collect()
			if err != nil || len(ex) != 1 || ex[0] != 1 {
				t.Errorf("EXPUNGE = %v, %v; want [1]", ex, err)
			}
			if err := c.Logout().Wait(); err != nil {
				t.Errorf("LOGOUT: %v", err)
			}
		})
	}
}

func hasFlag(flags []goimap.Flag, f goimap.Flag) bool {
	for _, x := range flags {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

// TestStartTLS logs in over STARTTLS from a client the server treats as
// remote: refused before TLS, accepted after.
func TestStartTLS(t *testing.T) {
	e := newEnv(t, envOptions{nonLoopback: true})
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(nc, nil)
	defer c.Close()
	if err := c.Login("alice", "pw-alice").Wait(); err == nil || !strings.Contains(err.Error(), "PRIVACYREQUIRED") {
		t.Fatalf("plaintext LOGIN: %v; want PRIVACYREQUIRED", err)
	}
	// The refused attempt reaches the backend's record, without the
	// password.
	if got := e.login.refusals(); len(got) != 1 || got[0].Username != "alice" || got[0].Password != "" || got[0].TLS {
		t.Errorf("refusals recorded: %+v; want one for alice without TLS or password", got)
	}
	if got := e.login.lastRequest(); got.Username != "" {
		t.Errorf("Login was called for a refused plaintext attempt: %+v", got)
	}
	c.Close()
	nc, err = net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := imapclient.NewStartTLS(nc, &imapclient.Options{TLSConfig: insecureTLS()})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer tc.Close()
	if err := tc.Login("alice", "pw-alice").Wait(); err != nil {
		t.Fatalf("LOGIN after STARTTLS: %v", err)
	}
	if got := e.login.lastRequest(); !got.TLS {
		t.Errorf("login request %+v; want TLS", got)
	}
}

// TestImplicitTLS serves a tls.NewListener (port 993 style): the session
// counts as TLS, so a remote client may log in at once.
func TestImplicitTLS(t *testing.T) {
	e := newEnv(t, envOptions{nonLoopback: true})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.Serve(tls.NewListener(l, testTLSConfig(t)))
	c, err := imapclient.DialTLS(l.Addr().String(), &imapclient.Options{TLSConfig: insecureTLS()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Caps().Has("LOGINDISABLED") || c.Caps().Has(goimap.CapStartTLS) {
		t.Errorf("capabilities over TLS: %v", c.Caps())
	}
	if err := c.Login("alice", "pw-alice").Wait(); err != nil {
		t.Fatalf("LOGIN over implicit TLS: %v", err)
	}
	if got := e.login.lastRequest(); !got.TLS {
		t.Errorf("login request %+v; want TLS", got)
	}
}

// TestGoIMAPClientCondStore drives CONDSTORE (RFC 7162 §3.1) with go-imap's
// client, an implementation written elsewhere: SELECT (CONDSTORE), FETCH
// MODSEQ with CHANGEDSINCE, and a conditional STORE that fails for a
// message changed since.
func TestGoIMAPClientCondStore(t *testing.T) {
	e := newEnv(t, envOptions{})
	for range 3 {
		e.deliver(t, readMsg(t, "simple.eml"), "alice")
	}
	c := dialClient(t, e, "alice", nil)
	if !c.Caps().Has(goimap.CapCondStore) {
		t.Fatalf("CONDSTORE not advertised: %v", c.Caps())
	}
	sel, err := c.Select("INBOX", &goimap.SelectOptions{CondStore: true}).Wait()
	if err != nil || sel.HighestModSeq == 0 {
		t.Fatalf("SELECT (CONDSTORE): %+v, %v", sel, err)
	}
	base := sel.HighestModSeq
	var all goimap.SeqSet
	all.AddRange(1, 0)
	if _, err := c.Store(goimap.SeqSetNum(2), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Silent: true, Flags: []goimap.Flag{goimap.FlagFlagged}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(all, &goimap.FetchOptions{UID: true, ModSeq: true, ChangedSince: base}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].SeqNum != 2 || msgs[0].ModSeq <= base {
		t.Fatalf("FETCH (CHANGEDSINCE %d): %+v, %v; want message 2 alone with a higher MODSEQ", base, msgs, err)
	}
	// Message 2 changed after base: a STORE conditional on base leaves it
	// alone and changes message 1.
	_, err = c.Store(goimap.SeqSetNum(1, 2), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagSeen}},
		&goimap.StoreOptions{UnchangedSince: base}).Collect()
	if err != nil {
		t.Fatalf("conditional STORE: %v", err)
	}
	msgs, err = c.Fetch(goimap.SeqSetNum(1, 2), &goimap.FetchOptions{Flags: true, ModSeq: true}).Collect()
	if err != nil || len(msgs) != 2 {
		t.Fatalf("FETCH FLAGS MODSEQ: %+v, %v", msgs, err)
	}
	seen := func(m *imapclient.FetchMessageBuffer) bool {
		for _, f := range m.Flags {
			if f == goimap.FlagSeen {
				return true
			}
		}
		return false
	}
	if !seen(msgs[0]) || seen(msgs[1]) {
		t.Errorf("after the conditional STORE: message 1 seen %v (want true), message 2 seen %v (want false)", seen(msgs[0]), seen(msgs[1]))
	}
}
