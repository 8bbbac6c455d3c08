package exchange

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/internal/fakeapi"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/syntax"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func TestMain(m *testing.M) {
	// Dates are shown in the local zone; the golden files are in UTC.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// transcript runs a script one statement at a time, as a user would type
// it at the prompt (lines that are incomplete are joined with the next),
// and returns "PS> " lines with what each printed.
func transcript(t *testing.T, s *cmdlet.Session, out *bytes.Buffer, script string) string {
	t.Helper()
	var b strings.Builder
	var pending []string
	for _, line := range strings.Split(strings.TrimRight(script, "\n"), "\n") {
		pending = append(pending, line)
		src := strings.Join(pending, "\n")
		if _, err := syntax.Parse(src); err != nil {
			var pe *syntax.Error
			if errors.As(err, &pe) && pe.Incomplete {
				continue
			}
		}
		pending = nil
		if strings.TrimSpace(src) == "" || strings.HasPrefix(strings.TrimSpace(src), "#") {
			continue
		}
		b.WriteString("PS> " + strings.ReplaceAll(src, "\n", "\n>> ") + "\n")
		out.Reset()
		if err := s.Execute(context.Background(), src); err != nil {
			s.WriteError(err)
		}
		b.WriteString(out.String())
	}
	if len(pending) > 0 {
		t.Fatalf("script ends inside an incomplete statement: %q", strings.Join(pending, "\n"))
	}
	return b.String()
}

// TestGolden runs each testdata/golden/*.ps1 against the fake API and
// compares the transcript with the .golden file (go test -update rewrites
// them).
func TestGolden(t *testing.T) {
	scripts, err := filepath.Glob("testdata/golden/*.ps1")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no golden scripts: %v", err)
	}
	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".ps1")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(script)
			if err != nil {
				t.Fatal(err)
			}
			_, client := startFake(t, fakeapi.New())
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte("Name,Alias\nChrista Knapp,christa\nBob Smith,bob\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			s := cmdlet.NewSession(cmdlet.SessionOptions{
				Host:     cmdlet.Host{Out: &out, Err: &out, Width: 100},
				Registry: DefaultRegistry(),
				API:      client,
				Dir:      dir,
				Now:      func() time.Time { return time.Date(2024, 5, 2, 9, 30, 0, 0, time.UTC) },
			})
			got := strings.ReplaceAll(transcript(t, s, &out, string(src)), dir, "$DIR")
			golden := strings.TrimSuffix(script, ".ps1") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("transcript differs from %s (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}
