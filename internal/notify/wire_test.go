package notify

import (
	"encoding/json"
	"testing"
)

// legacyWire is the payload as nodes before Event.QueryID read and wrote
// it: a SessionsQuery's ID in "s".
type legacyWire struct {
	Node      string `json:"n"`
	Kind      Kind   `json:"k"`
	MailboxID int64  `json:"m,omitempty"`
	FolderID  int64  `json:"f,omitempty"`
	ModSeq    uint64 `json:"s,omitempty"`
}

// TestWireCompatibility: the NOTIFY payload is read the same by nodes of
// both versions, in both directions, during a rolling upgrade.
func TestWireCompatibility(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    Event
	}{
		{"folder change keeps its modseq", Event{Kind: FolderChanged, MailboxID: 7, FolderID: 3, ModSeq: 99}},
		{"access change", Event{Kind: AccessChanged, MailboxID: 7, Origin: "n1"}},
		{"organization-wide", Event{Kind: AccessChanged}},
		{"sessions query", Event{Kind: SessionsQuery, MailboxID: 7, QueryID: 1<<63 + 5}},
		{"sessions query for all", Event{Kind: SessionsQuery, QueryID: 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// New node to new node: the event as it was sent.
			payload, err := encode("n1", tc.e)
			if err != nil {
				t.Fatal(err)
			}
			w, err := decode(payload)
			if err != nil {
				t.Fatal(err)
			}
			if w.Node != "n1" || w.Event != tc.e {
				t.Errorf("new -> new: got %q %+v; want %q %+v", w.Node, w.Event, "n1", tc.e)
			}

			// New node to old node: the old node finds the query's ID in ModSeq.
			var old legacyWire
			if err := json.Unmarshal(payload, &old); err != nil {
				t.Fatal(err)
			}
			wantOld := tc.e.ModSeq
			if tc.e.Kind == SessionsQuery {
				wantOld = tc.e.QueryID
			}
			if old.Kind != tc.e.Kind || old.MailboxID != tc.e.MailboxID || old.FolderID != tc.e.FolderID || old.ModSeq != wantOld {
				t.Errorf("new -> old: got %+v; want kind %d mailbox %d folder %d s %d", old, tc.e.Kind, tc.e.MailboxID, tc.e.FolderID, wantOld)
			}

			// Old node to new node: what an old node sends reads as the same event
			// (an old node sets no Origin).
			oldPayload, err := json.Marshal(legacyWire{Node: "n0", Kind: tc.e.Kind, MailboxID: tc.e.MailboxID,
				FolderID: tc.e.FolderID, ModSeq: wantOld})
			if err != nil {
				t.Fatal(err)
			}
			w, err = decode(oldPayload)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.e
			want.Origin = ""
			if w.Node != "n0" || w.Event != want {
				t.Errorf("old -> new: got %q %+v; want %q %+v", w.Node, w.Event, "n0", want)
			}
		})
	}
}
