package cmdlet

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// progressSession is a session on a pretend terminal (everything in term)
// whose clock moves 20 ms at every look.
func progressSession(t *testing.T, terminal bool) (*Session, *bytes.Buffer) {
	var term bytes.Buffer
	clock := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	h := Host{Out: &term, Err: &term, Width: 80}
	if terminal {
		h.Progress = &term
	}
	s := NewSession(SessionOptions{Host: h, Dir: t.TempDir(), Now: func() time.Time {
		clock = clock.Add(20 * time.Millisecond)
		return clock
	}})
	return s, &term
}

func TestPipelineProgress(t *testing.T) {
	s, term := progressSession(t, true)
	if err := s.Execute(context.Background(), `1..300 | ForEach-Object { if ($_ -eq 250) { Write-Host 'at 250' } }`); err != nil {
		t.Fatal(err)
	}
	out := term.String()
	if !strings.Contains(out, "\r\x1b[KForEach-Object: ") || !strings.Contains(out, " of 300 processed (") {
		t.Errorf("no progress line for a long pipeline: %q", out)
	}
	// Output clears the line first, and the line is gone at the end.
	if !strings.Contains(out, "\r\x1b[Kat 250\n") {
		t.Errorf("Write-Host text not written on a cleared line: %q", out)
	}
	if !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("progress line left behind: %q", out[max(0, len(out)-80):])
	}
	// A short pipeline shows nothing.
	term.Reset()
	s.Execute(context.Background(), `1..50 | ForEach-Object { $_ } | Out-Null`)
	if term.Len() != 0 {
		t.Errorf("progress for 50 items: %q", term.String())
	}
	// Without a terminal nothing is drawn.
	s, term = progressSession(t, false)
	s.Execute(context.Background(), `1..300 | ForEach-Object { $_ } | Out-Null`)
	if term.Len() != 0 {
		t.Errorf("progress written to redirected output: %q", term.String())
	}
}

func TestWriteProgress(t *testing.T) {
	s, term := progressSession(t, true)
	if err := s.Execute(context.Background(), `Write-Progress -Activity Copying -Status 'mailbox 5' -PercentComplete 50 -CurrentOperation christa`); err != nil {
		t.Fatal(err)
	}
	if want := "\r\x1b[KCopying: mailbox 5 [oooooooooo          ] 50%  christa"; term.String() != want {
		t.Errorf("Write-Progress drew %q; want %q", term.String(), want)
	}
	term.Reset()
	s.Execute(context.Background(), `Write-Progress -Activity Copying -Completed`)
	if term.String() != "\r\x1b[K" {
		t.Errorf("-Completed: %q", term.String())
	}
	if out := evalOut(t, `Write-Progress -Activity x -PercentComplete 101; 'after'`); !strings.Contains(out, "Cannot validate argument on parameter 'PercentComplete'") || !strings.Contains(out, "after") {
		t.Errorf("-PercentComplete 101: %q", out)
	}
	// Without a terminal Write-Progress writes nothing and does not fail.
	if out := evalOut(t, `Write-Progress -Activity Copying -PercentComplete 5; 'done'`); out != "done\n" {
		t.Errorf("Write-Progress without a terminal: %q", out)
	}
}
