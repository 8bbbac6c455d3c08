package backend

import (
	"slices"
	"testing"
)

// TestKickGate: a kick that comes while a login is deciding reaches the
// connection only if the login succeeds (once, at open); a refused login
// drops it; after open, kicks pass at once.
func TestKickGate(t *testing.T) {
	var got []string
	record := func(r string) { got = append(got, r) }

	refused := &kickGate{kick: record}
	refused.fire("disabled")
	refused.drop()
	refused.fire("later")
	if len(got) != 0 {
		t.Errorf("refused login: kicks %q reached the connection; want none", got)
	}

	ok := &kickGate{kick: record}
	ok.fire("first")
	ok.fire("second")
	if len(got) != 0 {
		t.Errorf("kicks %q passed before the login was decided", got)
	}
	ok.open()
	ok.fire("after")
	if want := []string{"first", "after"}; !slices.Equal(got, want) {
		t.Errorf("allowed login: kicks %q; want %q", got, want)
	}
}
