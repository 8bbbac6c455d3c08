package imap_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestEndToEndIdleLMTP runs the whole server (internal/testenv) and has
// Python's imaplib IDLE until a message arrives over LMTP (smtplib.LMTP),
// on both storage engines.
func TestEndToEndIdleLMTP(t *testing.T) {
	py := need(t, "python3")
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" && testing.Short() {
				t.Skip("SKIPPED in -short mode: PostgreSQL")
			}
			e := testenv.Start(t, testenv.Options{Demo: true, Postgres: engine == "postgres"})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, py, "testdata/clients/imaplib_lmtp.py",
				e.Addr("imap"), e.Addr("lmtp"), "christa@contoso.com", testenv.DemoPassword).CombinedOutput()
			t.Logf("imaplib + LMTP:\n%s", out)
			if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "DONE") {
				t.Fatalf("session failed: %v", err)
			}
		})
	}
}

// TestEndToEndDemoMailbox reads the demo organization's mail with go-imap's
// client through the whole server: every message's envelope, body
// structure and body parse on the client side.
func TestEndToEndDemoMailbox(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	c, err := imapclient.DialInsecure(e.Addr("imap"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("christa@contoso.com", testenv.DemoPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	boxes, err := c.List("", "*", &goimap.ListOptions{ReturnStatus: &goimap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range boxes {
		if b.Status == nil || b.Status.NumMessages == nil {
			continue
		}
		n := int(*b.Status.NumMessages)
		total += n
		if n == 0 {
			continue
		}
		if _, err := c.Select(b.Mailbox, &goimap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatalf("EXAMINE %s: %v", b.Mailbox, err)
		}
		var all goimap.SeqSet
		all.AddRange(1, 0)
		msgs, err := c.Fetch(all, &goimap.FetchOptions{Envelope: true, Flags: true, RFC822Size: true,
			BodyStructure: &goimap.FetchItemBodyStructure{Extended: true}, BodySection: []*goimap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil || len(msgs) != n {
			t.Fatalf("FETCH in %s: %d of %d, %v", b.Mailbox, len(msgs), n, err)
		}
		for _, m := range msgs {
			if m.Envelope == nil || m.BodyStructure == nil || int64(len(m.BodySection[0].Bytes)) != m.RFC822Size {
				t.Errorf("%s #%d: envelope %v, structure %v, %d bytes of %d", b.Mailbox, m.SeqNum, m.Envelope, m.BodyStructure, len(m.BodySection[0].Bytes), m.RFC822Size)
			}
		}
		if err := c.Unselect().Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if total == 0 {
		t.Fatalf("the demo mailbox has no mail")
	}
	t.Logf("read %d demo messages in %d folders", total, len(boxes))
}
