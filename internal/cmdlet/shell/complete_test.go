package shell

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/cmdlet/internal/fakeapi"
)

func TestComplete(t *testing.T) {
	f := fakeapi.New()
	_, client := startFake(t, f)
	s, _ := newTestSession(t, client)
	run(t, s, "$myVariable = 1")
	cp := NewCompleter(s)
	tests := []struct {
		line      string
		wantStart int
		want      []string
	}{
		{"get-casm", 0, []string{"Get-CASMailbox", "Get-CASMailboxPlan"}},
		{"Get-Mailbox | sel", 14, []string{"select", "Select-Object"}},
		{"Set-CASMailbox -Po", 15, []string{"-PopEnabled"}},
		{"Set-CASMailbox -wh", 15, []string{"-WhatIf"}},
		{"Set-CASMailbox ch", 15, []string{"christa", "'Christa Knapp'"}},
		{"Set-CASMailbox -Identity 'b", 25, []string{"bob", "'Bob Smith'"}},
		{"Set-CASMailbox bob -PopEnabled $f", 31, []string{"$false"}},
		{"$myV", 0, []string{"$myVariable"}},
		{"Get-EmailAppUsageReport -Period 1", 32, []string{"180"}},
		{"Unknown-Cmd -x", 12, nil},
	}
	for _, tt := range tests {
		start, got := cp.Complete(context.Background(), tt.line, len(tt.line))
		if start != tt.wantStart || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Complete(%q): got %d %q; want %d %q", tt.line, start, got, tt.wantStart, tt.want)
		}
	}
}

func TestTabCycler(t *testing.T) {
	s, _ := newTestSession(t, nil)
	tab := tabCycler(context.Background(), NewCompleter(s))
	line, pos, ok := tab("Get-CASMailbox -I", 17, '\t')
	if !ok || line != "Get-CASMailbox -Identity" || pos != len(line) {
		t.Fatalf("first Tab: got %q %d %v", line, pos, ok)
	}
	line, _, _ = tab(line, pos, '\t')
	if line != "Get-CASMailbox -ErrorAction" && line != "Get-CASMailbox -Identity" {
		t.Errorf("second Tab: got %q", line)
	}
	if _, _, ok := tab("x", 1, 'a'); ok {
		t.Error("a key other than Tab was handled")
	}
}

func TestHistory(t *testing.T) {
	path := t.TempDir() + "/sub/history"
	h := loadHistory(path)
	for _, l := range []string{"Get-Mailbox", "Get-Mailbox", "", "New-Mailbox x -Password (ConvertTo-SecureString -String 'p' -AsPlainText -Force)", "Get-CASMailbox"} {
		h.Add(l)
	}
	if h.Len() != 3 || h.At(0) != "Get-CASMailbox" || h.At(2) != "Get-Mailbox" {
		t.Errorf("in memory: got %d entries, newest %q", h.Len(), h.At(0))
	}
	h2 := loadHistory(path)
	if h2.Len() != 2 || h2.At(0) != "Get-CASMailbox" || h2.At(1) != "Get-Mailbox" {
		t.Errorf("from the file: got %v; want the two lines without the password", h2.entries)
	}
}
