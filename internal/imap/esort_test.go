package imap_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestPythonImaplibESORT runs ESORT, PARTIAL, SORT=DISPLAY and an updating
// search (CONTEXT=SEARCH, with a second session's APPEND and STORE) with
// Python's imaplib, which can send any command.
func TestPythonImaplibESORT(t *testing.T) {
	py := need(t, "python3")
	e := newEnv(t, envOptions{})
	e.deliver(t, readMsg(t, "simple.eml"), "alice")
	e.deliver(t, readMsg(t, "multipart.eml"), "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/clients/imaplib_esort.py", e.addr).CombinedOutput()
	t.Logf("imaplib:\n%s", out)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "DONE") {
		t.Fatalf("imaplib session failed: %v", err)
	}
}
