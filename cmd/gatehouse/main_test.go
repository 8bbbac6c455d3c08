package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build gatehouse: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a gatehouse serve process.
type server struct {
	cmd   *exec.Cmd
	addrs map[string]string
	out   *bytes.Buffer
	errb  *bytes.Buffer
}

var listenLine = regexp.MustCompile(`^\s+(IMAP4 \(STARTTLS\)|POP3 \(STLS\)|LMTP|SMTP inbound|Submission\s|Admin center)\s*\S*?(?:lmtp |://)?(127\.0\.0\.1:\d+)`)

// start runs gatehouse serve with args and waits for its banner.
func start(t *testing.T, args ...string) *server {
	t.Helper()
	return startCmd(t, exec.Command(binary, append([]string{"serve"}, args...)...))
}

// startCmd runs a prepared gatehouse serve command and waits for its
// banner.
func startCmd(t *testing.T, cmd *exec.Cmd) *server {
	t.Helper()
	stdout, _ := cmd.StdoutPipe()
	s := &server{cmd: cmd, addrs: map[string]string{}, out: &bytes.Buffer{}, errb: &bytes.Buffer{}}
	cmd.Stderr = s.errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	sc := bufio.NewScanner(stdout)
	deadline := time.After(60 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("server exited before it was ready:\n%s\n%s", s.out, s.errb)
			}
			s.out.WriteString(line + "\n")
			if m := listenLine.FindStringSubmatch(line); m != nil {
				s.addrs[strings.Fields(m[1])[0]] = m[2]
			}
			if strings.Contains(line, "Admin shell") || strings.HasPrefix(strings.TrimSpace(line), "REST API") {
				go io.Copy(io.Discard, stdout)
				return s
			}
		case <-deadline:
			t.Fatalf("server not ready in time:\n%s\n%s", s.out, s.errb)
		}
	}
}

func ports() []string {
	return []string{"--imap", "127.0.0.1:0", "--imaps", "", "--pop3", "127.0.0.1:0", "--pop3s", "",
		"--smtp", "", "--lmtp", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--submission", "", "--submissions", ""}
}

// TestKill9MidDelivery streams deliveries from four LMTP clients, kills the
// server with SIGKILL in the middle, and checks that every message that got
// its 250 is stored exactly once and that nothing is half-stored.
func TestKill9MidDelivery(t *testing.T) {
	data := t.TempDir()
	s := start(t, append([]string{"--data", data, "--demo", "--admin-password", "x-Admin-Pass-1"}, ports()...)...)
	addr := s.addrs["LMTP"]
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			cl := smtp.NewClientLMTP(conn)
			defer cl.Close()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				subj := fmt.Sprintf("kill9-%d-%d", c, i)
				// Vary sizes; some bodies span several storage chunks.
				body := strings.Repeat("line of text for the kill test\r\n", 1+(i%7)*(i%7)*400)
				err := cl.SendMail("s@example.org", []string{"christa@contoso.com"},
					strings.NewReader("Subject: "+subj+"\r\n\r\n"+body))
				if err != nil {
					return
				}
				mu.Lock()
				acked[subj] = true
				mu.Unlock()
			}
		}(c)
	}
	// Kill once enough deliveries were acknowledged that the test proves
	// something, and while more are in flight (on a busy machine that takes
	// longer than on an idle one).
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 40 || time.Now().After(deadline) {
			break
		}
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.cmd.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n < 20 {
		t.Fatalf("only %d deliveries acknowledged before the kill; the test proves nothing", n)
	}

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer st.Close()
	var m store.Mailbox
	st.View(ctx, func(tx store.Tx) error { m, err = tx.MailboxByAddress(ctx, "christa@contoso.com"); return err })
	f, idx, err := st.FolderIndex(ctx, mustFolder(t, st, m.ID))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var total int64
	err = st.Messages(ctx, f.ID, []store.UIDRange{{Start: 1, Stop: 1<<32 - 1}}, store.MetaSummary, func(mm store.MessageMeta) error {
		total += mm.Size
		if strings.HasPrefix(mm.Subject, "kill9-") {
			seen[mm.Subject]++
		}
		b := make([]byte, mm.Size)
		k, err := st.ReadBody(ctx, mm.BodyID, 0, b)
		if err != nil && !errors.Is(err, io.EOF) || int64(k) != mm.Size {
			t.Errorf("message %d: read %d of %d bytes: %v", mm.UID, k, mm.Size, err)
		}
		if !bytes.HasSuffix(b[:k], []byte("line of text for the kill test\r\n")) && strings.HasPrefix(mm.Subject, "kill9-") {
			t.Errorf("message %s is cut short", mm.Subject)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for subj := range acked {
		if seen[subj] != 1 {
			t.Errorf("acknowledged message %s stored %d times; want once", subj, seen[subj])
		}
	}
	for subj, c := range seen {
		if c != 1 {
			t.Errorf("message %s stored %d times", subj, c)
		}
	}
	if int(f.Messages) != len(idx) || f.Size != total {
		t.Errorf("folder counters: %d messages, %d bytes; the rows say %d, %d", f.Messages, f.Size, len(idx), total)
	}
	t.Logf("%d acknowledged before SIGKILL, %d stored (at most the in-flight ones more)", n, len(seen))
	if len(seen) > n+4 {
		t.Errorf("%d stored but only %d acknowledged: more than one in flight per client", len(seen), n)
	}
	st.Close()
	// And the server starts again on the same data.
	s2 := start(t, append([]string{"--data", data, "--demo"}, ports()...)...)
	s2.cmd.Process.Signal(syscall.SIGTERM)
	if err := s2.cmd.Wait(); err != nil {
		t.Errorf("restarted server did not stop cleanly on SIGTERM: %v\n%s", err, s2.errb)
	}
}

func mustFolder(t *testing.T, st store.Store, mb int64) int64 {
	t.Helper()
	f, err := st.FolderByName(context.Background(), mb, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

func TestStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ro := t.TempDir()
	os.Chmod(ro, 0o500)
	defer os.Chmod(ro, 0o700)
	for _, tc := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"port in use", append(append([]string{"--data", t.TempDir()}, ports()...), "--imap", busy.Addr().String()),
			"listen imap on " + busy.Addr().String(), 1},
		{"unknown flag", []string{"--no-such-flag"}, "flag provided but not defined", 2},
		{"bad value", []string{"--domain", "bad domain"}, "domain (--domain)", 2},
		{"postgres down", append([]string{"--data", t.TempDir(), "--db", "postgres://x@127.0.0.1:1/none?connect_timeout=2"}, ports()...),
			"postgres: cannot reach", 1},
		{"unwritable data", append([]string{"--data", filepath.Join(ro, "sub")}, ports()...), "data directory", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "unwritable data" && os.Geteuid() == 0 {
				// root writes anywhere; use a path under a file instead.
				f := filepath.Join(t.TempDir(), "file")
				os.WriteFile(f, nil, 0o600)
				tc.args = append([]string{"--data", filepath.Join(f, "sub")}, ports()...)
			}
			cmd := exec.Command(binary, append([]string{"serve"}, tc.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
				t.Fatalf("exit: %v; want code %d\n%s", err, tc.code, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, tc.want) {
				t.Errorf("last line %q; want it to mention %q", last, tc.want)
			}
		})
	}
}

// TestKill9FlagChanges: flag changes and expunges are committed relaxed
// (handed to the operating system, not synced; see sqlstore.writeRelaxed),
// which must still survive a SIGKILL of the server that comes right after
// their tagged OK.
func TestKill9FlagChanges(t *testing.T) {
	data := t.TempDir()
	s := start(t, append([]string{"--data", data, "--demo", "--admin-password", "x-Admin-Pass-1"}, ports()...)...)
	nc, err := net.Dial("tcp", s.addrs["IMAP4"])
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReader(nc)
	n := 0
	cmd := func(c string) string {
		t.Helper()
		n++
		tag := fmt.Sprintf("k%d", n)
		fmt.Fprintf(nc, "%s %s\r\n", tag, c)
		var all strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v (after %q)", c, err, all.String())
			}
			all.WriteString(line)
			if strings.HasPrefix(line, tag+" ") {
				if !strings.HasPrefix(line, tag+" OK") {
					t.Fatalf("%s: %s", c, line)
				}
				return all.String()
			}
		}
	}
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cmd("LOGIN christa@contoso.com Contoso-Demo-2026")
	sel := cmd("SELECT INBOX")
	var exists int
	if m := regexp.MustCompile(`\* (\d+) EXISTS`).FindStringSubmatch(sel); m != nil {
		fmt.Sscan(m[1], &exists)
	}
	if exists < 12 {
		t.Fatalf("demo INBOX holds %d messages; the test needs 12\n%s", exists, sel)
	}
	// Ten separate flag changes, then two expunges, each answered OK.
	for i := 1; i <= 10; i++ {
		cmd(fmt.Sprintf(`STORE %d +FLAGS.SILENT (\Flagged $Kill9)`, i))
	}
	cmd(fmt.Sprintf(`STORE %d:%d +FLAGS.SILENT (\Deleted)`, exists-1, exists))
	cmd("EXPUNGE")
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.cmd.Wait()

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer st.Close()
	var m store.Mailbox
	st.View(ctx, func(tx store.Tx) error { m, err = tx.MailboxByAddress(ctx, "christa@contoso.com"); return err })
	f, idx, err := st.FolderIndex(ctx, mustFolder(t, st, m.ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(idx) != exists-2 || int(f.Messages) != exists-2 {
		t.Errorf("after the kill: %d messages (counter %d); want %d, the expunge acknowledged", len(idx), f.Messages, exists-2)
	}
	for i, mf := range idx {
		flagged := mf.Flags&store.FlagFlagged != 0 && len(mf.Keywords) == 1 && mf.Keywords[0] == "$Kill9"
		if want := i < 10; flagged != want {
			t.Errorf("message %d (UID %d): flagged %v, keywords %v; want flagged %v", i+1, mf.UID, mf.Flags&store.FlagFlagged != 0, mf.Keywords, want)
		}
	}
}
