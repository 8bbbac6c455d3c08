package client

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/cmdlet"
)

// TestNullableBody pins the three states of Set-CASMailbox
// -SmtpClientAuthenticationDisabled on the wire: $null is sent as JSON
// null (follow the organization), $true/$false as themselves, and a
// parameter not given is left out (keep the mailbox's value), in the
// single and in the bulk body.
func TestNullableBody(t *testing.T) {
	tr := true
	cases := []struct {
		name  string
		set   func(o *cmdlet.Object)
		want  string
		state wire.NullableBool
	}{
		{"null", func(o *cmdlet.Object) { o.Set("SmtpClientAuthenticationDisabled", nil) }, `{"SmtpClientAuthenticationDisabled":null}`, wire.NullableBool{Set: true}},
		{"true", func(o *cmdlet.Object) { o.Set("SmtpClientAuthenticationDisabled", true) }, `{"SmtpClientAuthenticationDisabled":true}`, wire.NullableBool{Set: true, Value: &tr}},
		{"absent", func(o *cmdlet.Object) { o.Set("PopEnabled", true) }, `{"PopEnabled":true}`, wire.NullableBool{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			params := cmdlet.NewObject("")
			c.set(params)
			b, err := Body[wire.SetCASMailboxBody](params)
			if err != nil {
				t.Fatal(err)
			}
			got := b.SmtpClientAuthenticationDisabled
			if got.Set != c.state.Set || (got.Value == nil) != (c.state.Value == nil) || (got.Value != nil && *got.Value != *c.state.Value) {
				t.Fatalf("decoded %+v; want %+v", got, c.state)
			}
			data, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != c.want {
				t.Errorf("body %s; want %s", data, c.want)
			}
			bulk, err := json.Marshal(wire.BulkCASItem{Identity: "christa", PopEnabled: b.PopEnabled, SmtpClientAuthenticationDisabled: got})
			if err != nil {
				t.Fatal(err)
			}
			wantBulk := `{"Identity":"christa",` + c.want[1:]
			if string(bulk) != wantBulk {
				t.Errorf("bulk item %s; want %s", bulk, wantBulk)
			}
			var back wire.SetCASMailboxBody
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if back.SmtpClientAuthenticationDisabled.Set != c.state.Set {
				t.Errorf("read back %+v; want Set %v", back.SmtpClientAuthenticationDisabled, c.state.Set)
			}
		})
	}
	var bad wire.SetCASMailboxBody
	if err := json.Unmarshal([]byte(`{"SmtpClientAuthenticationDisabled":"yes"}`), &bad); err == nil {
		t.Error(`"yes" was taken for a nullable Boolean`)
	}
}
