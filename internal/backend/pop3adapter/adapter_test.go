package pop3adapter

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/pop3"
	"github.com/gatehouse-mail/gatehouse/internal/store"
	"github.com/gatehouse-mail/gatehouse/internal/store/sqlite"
)

// The test mail: a line that starts with a dot, 8-bit content, a last line
// without CRLF.
var testMessages = []string{
	"From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: Hello\r\n\r\nHi Alice,\r\n.a line with a dot\r\n..two\r\n.\r\nBye\r\n",
	"From: bob@example.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\n\xff\xfe raw octets\r\n",
	"From: bob@example.com\r\nSubject: no final line end\r\n\r\nfirst line\r\nlast line without CRLF",
}

// bigMessage is about 10 MB of 8-bit lines, some starting with a dot.
func bigMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: bob@example.com\r\nSubject: big\r\nContent-Type: application/octet-stream\r\n\r\n")
	line := make([]byte, 78)
	for i := 0; b.Len() < 10<<20; i++ {
		for j := range line {
			line[j] = byte(0x80 + (i+j)%0x7f)
		}
		if i%5 == 0 {
			line[0] = '.'
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

type change struct {
	mailboxID, folderID int64
	modSeq              uint64
}

// env is a POP3 server over a real SQLite store in t.TempDir(), with the
// real login flow (package backend), access registry and change hub.
type env struct {
	st      store.Store
	hub     *notify.Local
	addr    string // plain, with STLS
	tlsAddr string // implicit TLS
	boxes   map[string]int64
	changes chan change
	kicked  chan access.Protocol
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, st)
}

// newEnvOn is newEnv over a store the test opened.
func newEnvOn(t *testing.T, st store.Store) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{st: st, hub: notify.NewLocal(), boxes: map[string]int64{}, changes: make(chan change, 100), kicked: make(chan access.Protocol, 10)}
	// Cheap argon2id parameters: the tests log in often.
	checker := auth.NewChecker(auth.CheckerOptions{Params: auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}, CacheTTL: time.Minute})
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.SetOrgConfig(ctx, store.OrgConfig{Name: "Example", Domain: "example.com"})
	}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob", "carol"} {
		hash, err := checker.Hash("pw-" + name)
		if err != nil {
			t.Fatal(err)
		}
		m := store.Mailbox{Name: name, DisplayName: name, Alias: name,
			PrimarySmtpAddress: name + "@example.com", UserPrincipalName: name + "@example.com",
			PasswordHash: hash, PopEnabled: true, ImapEnabled: true}
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.InsertMailbox(ctx, &m) }); err != nil {
			t.Fatal(err)
		}
		e.boxes[name] = m.ID
	}
	for _, raw := range testMessages {
		e.deliver(t, []byte(raw), "alice", "bob")
	}
	e.deliver(t, bigMessage(), "carol")
	cancel := e.hub.Subscribe(0, func(ev notify.Event) {
		if ev.Kind == notify.FolderChanged {
			e.changes <- change{ev.MailboxID, ev.FolderID, ev.ModSeq}
		}
	})
	t.Cleanup(cancel)

	var log *slog.Logger
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	reg := access.NewRegistry(access.RegistryOptions{Store: st, Hub: e.hub, Logger: log,
		OnKick: func(p access.Protocol) { e.kicked <- p }})
	t.Cleanup(reg.Close)
	rec := backend.NewRecorder(st, backend.RecorderOptions{})
	t.Cleanup(rec.Close)
	logins := backend.NewLogins(backend.LoginsOptions{Store: st, Checker: checker, Registry: reg, Recorder: rec, Logger: log})
	be := New(Options{Mail: st, Login: LoginFlow{logins}, Hub: e.hub, Logger: log})
	srv := pop3.NewServer(pop3.Options{Backend: be, TLSConfig: testTLSConfig(t), Logger: log})
	l1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l1)
	go srv.ServeTLS(l2)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	e.addr, e.tlsAddr = l1.Addr().String(), l2.Addr().String()
	return e
}

// setPopEnabled changes the mailbox as the service layer does: write, then
// tell the hub.
func (e *env) setPopEnabled(t *testing.T, user string, on bool) {
	t.Helper()
	ctx := context.Background()
	err := e.st.Update(ctx, func(tx store.Tx) error {
		m, err := tx.MailboxByID(ctx, e.boxes[user])
		if err != nil {
			return err
		}
		m.PopEnabled = on
		return tx.UpdateMailbox(ctx, m)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.hub.Publish(ctx, notify.Event{Kind: notify.AccessChanged, MailboxID: e.boxes[user]}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) deliver(t *testing.T, raw []byte, users ...string) {
	t.Helper()
	ctx := context.Background()
	msg := message.Parse(raw)
	var ids []int64
	for _, u := range users {
		ids = append(ids, e.boxes[u])
	}
	_, err := e.st.Deliver(ctx, ids, store.NewMessage{
		InternalDate: time.Now(),
		Raw:          raw,
		Structure:    msg.Marshal(),
		Summary:      store.Summary{Subject: msg.Subject(), From: msg.From(), To: msg.To()},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// inbox returns the store's view of a user's INBOX.
func (e *env) inbox(t *testing.T, user string) (store.Folder, []store.MessageMeta) {
	t.Helper()
	ctx := context.Background()
	f, err := e.st.FolderByName(ctx, e.boxes[user], "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var metas []store.MessageMeta
	err = e.st.Messages(ctx, f.ID, allUIDs, 0, func(m store.MessageMeta) error {
		metas = append(metas, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, metas
}

func testTLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// lookPath skips the test when a Debian client program is missing, or
// fails it under scripts/test.sh (GATEHOUSE_TEST_STRICT), which installs
// them.
func lookPath(t *testing.T, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("GATEHOUSE_TEST_STRICT") != "" {
			t.Fatalf("%s not installed: %v", prog, err)
		}
		t.Skipf("%s not installed: %v", prog, err)
	}
	return p
}

// poplib runs testdata/poplib_client.py and decodes its JSON.
func poplib(t *testing.T, mode, addr, user, pass string) map[string]any {
	t.Helper()
	py := lookPath(t, "python3")
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/poplib_client.py", mode, host, port, user, pass)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("poplib %s: %v\n%s", mode, err, stderr.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("poplib %s output %q: %v", mode, out, err)
	}
	return res
}

// wire is a message as a client reads it back: CRLF added where the last
// line lacks it (it belongs to the terminator).
func wire(raw string) string {
	if !strings.HasSuffix(raw, "\r\n") {
		return raw + "\r\n"
	}
	return raw
}

func TestPoplibFull(t *testing.T) {
	e := newEnv(t)
	_, metas := e.inbox(t, "alice")
	res := poplib(t, "full", e.addr, "alice@example.com", "pw-alice")

	total := 0
	for _, m := range testMessages {
		total += len(m)
	}
	if got, want := fmt.Sprint(res["stat"]), fmt.Sprintf("[3 %d]", total); got != want {
		t.Errorf("STAT: got %s; want %s", got, want)
	}
	var wantList, wantUIDL []string
	for i, m := range testMessages {
		wantList = append(wantList, fmt.Sprintf("%d %d", i+1, len(m)))
		wantUIDL = append(wantUIDL, fmt.Sprintf("%d %d", i+1, metas[i].ID))
	}
	if got, want := fmt.Sprint(res["list"]), fmt.Sprint(wantList); got != want {
		t.Errorf("LIST: got %s; want %s", got, want)
	}
	if got, want := fmt.Sprint(res["uidl"]), fmt.Sprint(wantUIDL); got != want {
		t.Errorf("UIDL: got %s; want %s", got, want)
	}
	if got, want := res["list_1"], "+OK "+wantList[0]; got != want {
		t.Errorf("LIST 1: got %v; want %v", got, want)
	}
	if got, want := res["uidl_1"], "+OK "+wantUIDL[0]; got != want {
		t.Errorf("UIDL 1: got %v; want %v", got, want)
	}
	top, _ := hex.DecodeString(res["top_1_0"].(string))
	if want := "From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: Hello\r\n"; string(top) != want {
		t.Errorf("TOP 1 0: got %q; want %q", top, want)
	}
	retr := res["retr"].([]any)
	if len(retr) != len(testMessages) {
		t.Fatalf("got %d RETR; want %d", len(retr), len(testMessages))
	}
	for i, r := range retr {
		r := r.(map[string]any)
		body, _ := hex.DecodeString(r["body"].(string))
		// poplib drops the line ends; it returns the lines joined by CRLF.
		if got, want := string(body)+"\r\n", wire(testMessages[i]); got != want {
			t.Errorf("RETR %d: got %q; want %q", i+1, got, want)
		}
		if got, want := r["resp"], fmt.Sprintf("+OK %d octets", len(testMessages[i])); got != want {
			t.Errorf("RETR %d: got %v; want %v", i+1, got, want)
		}
	}
	if got, want := res["retr_deleted"], "-ERR Message 2 is deleted"; got != want {
		t.Errorf("RETR of a deleted message: got %v; want %v", got, want)
	}
	if got, want := res["quit"], "+OK Gatehouse POP3 server signing off (2 messages left)"; got != want {
		t.Errorf("QUIT: got %v; want %v", got, want)
	}
	for _, c := range []string{"PIPELINING", "RESP-CODES", "SASL", "STLS", "TOP", "UIDL", "USER"} {
		if !slices.Contains(toStrings(res["capa"]), c) {
			t.Errorf("CAPA %v lacks %s", res["capa"], c)
		}
	}

	// Only message 2 was removed, in the store, and IMAP4 sessions were told.
	f, after := e.inbox(t, "alice")
	if len(after) != 2 || after[0].ID != metas[0].ID || after[1].ID != metas[2].ID {
		t.Errorf("after QUIT: got messages %v; want IDs %d and %d", after, metas[0].ID, metas[2].ID)
	}
	select {
	case c := <-e.changes:
		if c.mailboxID != e.boxes["alice"] || c.folderID != f.ID || c.modSeq != f.HighestModSeq {
			t.Errorf("change event %+v; want mailbox %d folder %d modseq %d", c, e.boxes["alice"], f.ID, f.HighestModSeq)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("no change event after QUIT removed a message")
	}
	// Bob got the same messages; his copy is untouched.
	if _, bobs := e.inbox(t, "bob"); len(bobs) != 3 {
		t.Errorf("bob has %d messages; want 3", len(bobs))
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestPoplibAuthPlainAndSTLS(t *testing.T) {
	e := newEnv(t)
	res := poplib(t, "plain", e.addr, "alice@example.com", "pw-alice")
	if got, want := res["auth"], "+OK Logged in; 3 messages"; !strings.HasPrefix(got.(string), want) {
		t.Errorf("AUTH PLAIN: got %v; want %s...", got, want)
	}
	res = poplib(t, "stls", e.addr, "bob@example.com", "pw-bob")
	if got, want := res["stls"], "+OK Begin TLS negotiation"; got != want {
		t.Errorf("STLS: got %v; want %v", got, want)
	}
	if capa := toStrings(res["capa_tls"]); slices.Contains(capa, "STLS") || !slices.Contains(capa, "USER") {
		t.Errorf("CAPA after STLS: %v; want USER and no STLS", capa)
	}
	if got, want := fmt.Sprint(res["stat"]), "[3"; !strings.HasPrefix(got, want) {
		t.Errorf("STAT over TLS: got %v", got)
	}
	// Deleting everything empties the INBOX.
	res = poplib(t, "dele-all", e.addr, "bob@example.com", "pw-bob")
	if got, want := res["quit"], "+OK Gatehouse POP3 server signing off (maildrop empty)"; got != want {
		t.Errorf("QUIT: got %v; want %v", got, want)
	}
	if _, msgs := e.inbox(t, "bob"); len(msgs) != 0 {
		t.Errorf("bob has %d messages after deleting all; want 0", len(msgs))
	}
}

// curl runs curl and returns its output.
func curl(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := lookPath(t, "curl")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-sS", "--max-time", "60"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

func TestCurl(t *testing.T) {
	e := newEnv(t)
	user := []string{"-u", "alice@example.com:pw-alice"}
	var list strings.Builder
	for i, m := range testMessages {
		fmt.Fprintf(&list, "%d %d\r\n", i+1, len(m))
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"LIST", []string{"pop3://" + e.addr + "/"}, list.String()},
		{"RETR", []string{"pop3://" + e.addr + "/1"}, testMessages[0]},
		{"RETR 8-bit", []string{"pop3://" + e.addr + "/2"}, testMessages[1]},
		{"RETR no final CRLF", []string{"pop3://" + e.addr + "/3"}, wire(testMessages[2])},
		{"LIST over STLS", []string{"--ssl-reqd", "-k", "pop3://" + e.addr + "/"}, list.String()},
		{"RETR over STLS", []string{"--ssl-reqd", "-k", "pop3://" + e.addr + "/1"}, testMessages[0]},
		{"LIST over implicit TLS", []string{"-k", "pop3s://" + e.tlsAddr + "/"}, list.String()},
		{"RETR over implicit TLS", []string{"-k", "pop3s://" + e.tlsAddr + "/2"}, testMessages[1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := curl(t, append(user, tt.args...)...)
			if string(got) != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
	// Large message over implicit TLS.
	got := curl(t, "-u", "carol@example.com:pw-carol", "-k", "pop3s://"+e.tlsAddr+"/1")
	if want := bigMessage(); !bytes.Equal(got, want) {
		t.Errorf("10 MB RETR over TLS: got %d octets; want %d, equal", len(got), len(want))
	}
}

// session is a raw POP3 connection for the tests that need control of
// the timing.
type session struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *session {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	s := &session{t: t, conn: c, r: bufio.NewReader(c)}
	s.line()
	return s
}

func (s *session) line() string {
	s.t.Helper()
	l, err := s.r.ReadString('\n')
	if err != nil {
		return "<closed>"
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (s *session) cmd(c string) string {
	s.t.Helper()
	if _, err := io.WriteString(s.conn, c+"\r\n"); err != nil {
		return "<closed>"
	}
	return s.line()
}

func (s *session) ok(c string) string {
	s.t.Helper()
	got := s.cmd(c)
	if !strings.HasPrefix(got, "+OK") {
		s.t.Fatalf("%s: got %q; want +OK", c, got)
	}
	return got
}

// waitUnlocked waits until a new session of the user can log in: the
// previous one has released the maildrop.
func waitUnlocked(t *testing.T, e *env, user string) *session {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		s := dial(t, e.addr)
		s.ok("USER " + user)
		if got := s.cmd("PASS pw-" + strings.TrimSuffix(user, "@example.com")); strings.HasPrefix(got, "+OK") {
			return s
		} else if !strings.Contains(got, "[IN-USE]") {
			t.Fatalf("login: got %q", got)
		}
		s.conn.Close()
	}
	t.Fatalf("maildrop of %s still locked", user)
	return nil
}

func TestInterruptedDownloadRemovesNothing(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, []byte(testMessages[0]), "carol")
	s := dial(t, e.addr)
	s.ok("USER carol@example.com")
	s.ok("PASS pw-carol")
	s.ok("DELE 2")
	if got := s.cmd("RETR 1"); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("RETR: %q", got)
	}
	// Read a little of the 10 MB, then hang up.
	if _, err := io.ReadFull(s.r, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	s.conn.Close()

	s2 := waitUnlocked(t, e, "carol@example.com")
	if got, want := s2.cmd("STAT"), fmt.Sprintf("+OK 2 %d", len(bigMessage())+len(testMessages[0])); got != want {
		t.Errorf("STAT after the interrupted session: got %q; want %q", got, want)
	}
	s2.ok("QUIT")
	if _, msgs := e.inbox(t, "carol"); len(msgs) != 2 {
		t.Errorf("carol has %d messages; want 2", len(msgs))
	}
}

// TestKickRemovesNothing: disabling POP3 for a mailbox ends its open
// session at its next command, without removing what it marked, and
// refuses the next login (docs/ARCHITECTURE.md, "The access rule").
func TestKickRemovesNothing(t *testing.T) {
	e := newEnv(t)
	s := dial(t, e.addr)
	s.ok("USER alice@example.com")
	s.ok("PASS pw-alice")
	s.ok("DELE 1")
	e.setPopEnabled(t, "alice", false)
	select {
	case p := <-e.kicked:
		if p != access.POP3 {
			t.Fatalf("kicked a %s session; want pop3", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no session kicked after POP3 was disabled")
	}
	if got, want := s.cmd("QUIT"), "-ERR [SYS/PERM] POP3 access was disabled by your administrator."; got != want {
		t.Errorf("QUIT after kick: got %q; want %q", got, want)
	}
	if got := s.line(); got != "<closed>" {
		t.Errorf("after the kick: got %q; want the connection closed", got)
	}
	s2 := dial(t, e.addr)
	s2.ok("USER alice@example.com")
	if got, want := s2.cmd("PASS pw-alice"), "-ERR [SYS/PERM] POP3 access is disabled for this mailbox. Contact your administrator."; got != want {
		t.Errorf("login while disabled: got %q; want %q", got, want)
	}
	s2.ok("USER alice@example.com")
	if got, want := s2.cmd("PASS wrong"), "-ERR [AUTH] Invalid credentials"; got != want {
		t.Errorf("wrong password while disabled: got %q; want %q", got, want)
	}
	e.setPopEnabled(t, "alice", true)
	s3 := waitUnlocked(t, e, "alice@example.com")
	if got := s3.ok("STAT"); !strings.HasPrefix(got, "+OK 3 ") {
		t.Errorf("STAT after kick: got %q; want 3 messages", got)
	}
}

func TestTwoClientsAtOnce(t *testing.T) {
	e := newEnv(t)
	a := dial(t, e.addr)
	a.ok("USER alice@example.com")
	a.ok("PASS pw-alice")
	// A second POP3 session of the same mailbox is refused...
	a2 := dial(t, e.addr)
	a2.ok("USER alice@example.com")
	if got, want := a2.cmd("PASS pw-alice"), "-ERR [IN-USE] Another POP3 session is using this mailbox; try again later"; got != want {
		t.Errorf("second session: got %q; want %q", got, want)
	}
	// ...a wrong password learns nothing about the lock...
	a2.ok("USER alice@example.com")
	if got, want := a2.cmd("PASS wrong"), "-ERR [AUTH] Invalid credentials"; got != want {
		t.Errorf("wrong password: got %q; want %q", got, want)
	}
	// ...and another mailbox downloads alongside.
	b := dial(t, e.addr)
	b.ok("USER bob@example.com")
	b.ok("PASS pw-bob")
	var wg sync.WaitGroup
	for _, s := range []*session{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range testMessages {
				io.WriteString(s.conn, fmt.Sprintf("RETR %d\r\n", i+1))
			}
			io.WriteString(s.conn, "QUIT\r\n")
		}()
	}
	wg.Wait()
	for _, s := range []*session{a, b} {
		all, _ := io.ReadAll(s.r)
		if n := strings.Count(string(all), "\r\n.\r\n"); n != len(testMessages) {
			t.Errorf("got %d complete messages; want %d", n, len(testMessages))
		}
	}
}

// TestUIDLStable: a message keeps its UIDL across sessions and deletions
// of others, and a new message never takes an old one's UIDL.
func TestUIDLStable(t *testing.T) {
	e := newEnv(t)
	uidls := func() []string {
		s := waitUnlocked(t, e, "alice@example.com")
		s.ok("UIDL")
		var out []string
		for l := s.line(); l != "." && l != "<closed>"; l = s.line() {
			out = append(out, strings.Fields(l)[1])
		}
		s.ok("DELE 1")
		s.ok("QUIT")
		return out
	}
	first := uidls()
	e.deliver(t, []byte("Subject: new\r\n\r\nnew\r\n"), "alice")
	second := uidls()
	if !slices.Equal(second[:2], first[1:]) {
		t.Errorf("UIDLs after deleting message 1: got %v; want %v first", second, first[1:])
	}
	if slices.Contains(first, second[2]) {
		t.Errorf("new message got a used UIDL %s", second[2])
	}
}

// TestMessageExpungedByIMAP: an IMAP4 session removes a message the POP3
// session has listed.
func TestMessageExpungedByIMAP(t *testing.T) {
	e := newEnv(t)
	// A body shared with bob stays; carol's big message is hers alone.
	s := dial(t, e.addr)
	s.ok("USER carol@example.com")
	s.ok("PASS pw-carol")
	s.ok("DELE 1")
	f, metas := e.inbox(t, "carol")
	if _, err := e.st.Expunge(context.Background(), f.ID, []store.UIDRange{{Start: metas[0].UID, Stop: metas[0].UID}}, false); err != nil {
		t.Fatal(err)
	}
	// The body stays readable for a grace period after the expunge; once
	// it is swept, RETR says the message is gone.
	if _, err := e.st.SweepBodies(context.Background(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.ok("RSET")
	if got, want := s.cmd("RETR 1"), "-ERR Message was removed by another session"; got != want {
		t.Errorf("RETR: got %q; want %q", got, want)
	}
	s.ok("DELE 1")
	if got, want := s.cmd("QUIT"), "+OK Gatehouse POP3 server signing off (maildrop empty)"; got != want {
		t.Errorf("QUIT: got %q; want %q", got, want)
	}
	select {
	case c := <-e.changes:
		t.Errorf("change event %+v though nothing was removed", c)
	default:
	}
}

// TestPoplibBinaryPart has Python's poplib read a message whose part holds
// NUL octets and bare CR and LF (kept exactly by the store, as an IMAP4
// literal8 APPEND keeps them): RETR and TOP must be CRLF-ended lines
// without NUL, LIST's size what RETR sends.
func TestPoplibBinaryPart(t *testing.T) {
	e := newEnv(t)
	part := []byte("ab\x00cd\nbare LF\rbare CR\r\n.dot\r\n\xff\xfe")
	raw := []byte("From: a@example.com\r\nSubject: binary\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n.\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
		string(part) + "\r\n--b--\r\n")
	msg := message.Parse(raw)
	if !msg.HasBinary() {
		t.Fatal("the test message has no binary part")
	}
	if _, err := e.st.Deliver(context.Background(), []int64{e.boxes["alice"]}, store.NewMessage{
		InternalDate: time.Now(), Raw: raw, Structure: msg.Marshal(), HasBinary: true,
		Summary: store.Summary{Subject: msg.Subject(), From: msg.From(), To: msg.To()},
	}); err != nil {
		t.Fatal(err)
	}
	py := lookPath(t, "python3")
	host, port, _ := net.SplitHostPort(e.addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/poplib_binary.py", host, port, "alice@example.com", "pw-alice", hex.EncodeToString(part)).CombinedOutput()
	t.Logf("poplib:\n%s", out)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "DONE") {
		t.Fatalf("poplib session failed: %v", err)
	}
}
