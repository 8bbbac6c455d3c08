package pop3

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the transcripts under testdata/ with what the server answers")

// TestTranscripts replays each testdata/*.txt against a fresh server with
// the memory backend and compares the whole conversation exactly.
//
// A transcript is a list of lines. Leading lines starting with "#" are
// comments, and "#! word" lines are options: "remote" (the client is not
// on loopback), "tls" (TLS is configured, so STLS works), "implicit"
// (the listener is implicit TLS). Then "C: " lines are sent and "S: "
// lines are what the server answers; consecutive "C: " lines are sent in
// one write (pipelining). "S: <closed>" means the server closed the
// connection instead of answering. With -update the S: lines are
// rewritten from the server's answers.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no transcripts under testdata/")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			t.Parallel()
			runTranscript(t, file)
		})
	}
}

func runTranscript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var header []string
	var batches [][]string // consecutive C: lines
	prevC := false
	cfg := serverConfig{}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			if len(batches) > 0 {
				t.Fatalf("comment %q after the first command", line)
			}
			header = append(header, line)
			switch strings.TrimSpace(strings.TrimPrefix(line, "#!")) {
			case "remote":
				cfg.remote = true
			case "tls":
				cfg.tls = true
			case "implicit":
				cfg.implicitTLS = true
			}
			prevC = false
		case strings.HasPrefix(line, "C: "):
			if prevC {
				batches[len(batches)-1] = append(batches[len(batches)-1], line[3:])
			} else {
				batches = append(batches, []string{line[3:]})
			}
			prevC = true
		case strings.HasPrefix(line, "S: ") || line == "S:":
			prevC = false
		default:
			t.Fatalf("bad transcript line %q", line)
		}
	}

	_, addr := startServer(t, newMemBackend(), cfg)
	got := play(t, addr, cfg, batches)

	want := strings.Join(header, "\n")
	if want != "" {
		want += "\n"
	}
	result := want + strings.Join(got, "\n") + "\n"
	if *update {
		if err := os.WriteFile(file, []byte(result), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if result != string(data) {
		t.Errorf("transcript differs (run with -update to accept):\n%s", diffLines(string(data), result))
	}
}

// play runs the conversation and returns its C: and S: lines.
func play(t *testing.T, addr string, cfg serverConfig, batches [][]string) []string {
	t.Helper()
	var conn net.Conn
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if cfg.implicitTLS {
		conn = tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	var out []string
	readLine := func() (string, bool) {
		line, err := r.ReadString('\n')
		if err != nil {
			if line != "" {
				out = append(out, "S: "+line+" <no line end>")
			}
			out = append(out, "S: <closed>")
			return "", false
		}
		line = strings.TrimSuffix(line, "\n")
		if !strings.HasSuffix(line, "\r") {
			out = append(out, "S: "+line+" <bare LF>")
		} else {
			out = append(out, "S: "+strings.TrimSuffix(line, "\r"))
		}
		return strings.TrimSuffix(line, "\r"), true
	}

	if _, ok := readLine(); !ok {
		return out
	}
	for _, batch := range batches {
		var buf bytes.Buffer
		for _, c := range batch {
			buf.WriteString(c + "\r\n")
			out = append(out, "C: "+c)
		}
		if _, err := conn.Write(buf.Bytes()); err != nil {
			return append(out, "S: <closed>")
		}
		for _, c := range batch {
			first, ok := readLine()
			if !ok {
				return out
			}
			if strings.HasPrefix(first, "+OK") && multiLine(c) {
				for {
					line, ok := readLine()
					if !ok {
						return out
					}
					if line == "." {
						break
					}
				}
			}
			if strings.HasPrefix(first, "+OK") && strings.EqualFold(strings.TrimSpace(c), "STLS") {
				tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
				if err := tc.Handshake(); err != nil {
					t.Fatalf("STLS handshake: %v", err)
				}
				conn = tc
				tc.SetDeadline(time.Now().Add(20 * time.Second))
				r = bufio.NewReader(tc)
			}
		}
	}
	// Hang up our side; anything the server still says is recorded.
	switch c := conn.(type) {
	case *tls.Conn:
		c.CloseWrite()
	case *net.TCPConn:
		c.CloseWrite()
	}
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			out = append(out, "S: "+strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			break
		}
	}
	return out
}

// multiLine reports whether a positive answer to the command line is a
// multi-line response (RFC 1939 §3).
func multiLine(c string) bool {
	f := strings.Fields(c)
	if len(f) == 0 {
		return false
	}
	switch strings.ToUpper(f[0]) {
	case "CAPA", "RETR", "TOP":
		return true
	case "LIST", "UIDL", "AUTH":
		return len(f) == 1
	}
	return false
}

// diffLines shows the first differing line of two transcripts with context.
func diffLines(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n got %q\nwant %q\n\nwhole answer:\n%s", i+1, gl, wl, got)
		}
	}
	return "no difference"
}
