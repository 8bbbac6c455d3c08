package delivery_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/config"
	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestLargeMessagesThroughTheSpool: messages above the in-memory threshold
// are received through a file, stored byte-exact (bare LF made CRLF), also
// several at once with a memory budget that holds one at a time; nothing is
// left in the spool directory.
func TestLargeMessagesThroughTheSpool(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true, Configure: func(c *config.Config) {
		c.Delivery.DataMemory = 1_500_000 // one of the messages below at a time
	}})
	const clients = 3
	msgs := make([]string, clients)
	for i := range msgs {
		msgs[i] = "Subject: big " + strings.Repeat("!", i) + "\n\n" + strings.Repeat("a line of the message\n", 50_000+i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c := lmtpClient(t, e.Addr("lmtp"))
			if err := c.SendMail("sender@example.org", []string{"christa@contoso.com"}, strings.NewReader(msgs[i])); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("LMTP delivery: got %v; want nil", err)
	}
	_, stored := inbox(t, e, "christa@contoso.com")
	found := 0
	for _, m := range stored {
		b := body(t, e, m)
		for _, want := range msgs {
			w := message.Normalize([]byte(want))
			if len(b) > len(w) && strings.HasSuffix(b, string(w)) && bytes.Contains([]byte(b), []byte("Received: from")) {
				found++
			}
		}
	}
	if found != clients {
		t.Errorf("messages stored byte-exact after their trace fields: got %d; want %d", found, clients)
	}
	left, _ := os.ReadDir(filepath.Join(e.Config.Data, "spool"))
	if len(left) != 0 {
		t.Errorf("spool directory after the deliveries: got %d files; want none", len(left))
	}
}
