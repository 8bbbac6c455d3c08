package api_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/api"
	"github.com/gatehouse-mail/gatehouse/internal/testenv"
)

// TestSmtpClientAuthNullableREST sends Set-CASMailbox
// -SmtpClientAuthenticationDisabled in its three states through the wire
// types: true, null (follow the organization) and left out (keep), on
// the single and the bulk PATCH, and gets a 400 for a value that is not
// a Boolean.
func TestSmtpClientAuthNullableREST(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	rita := signIn(t, e, "rita", testenv.DemoPassword)
	type cas struct {
		SmtpClientAuthenticationDisabled *bool
		EffectiveSmtpClientAuthEnabled   bool
		SmtpClientAuthAccess             string
	}
	read := func() cas {
		t.Helper()
		var m cas
		if s := rita.json("GET", "/api/v1/casmailboxes/christa", nil, &m); s != 200 {
			t.Fatalf("GET: %d", s)
		}
		return m
	}
	if m := read(); m.SmtpClientAuthenticationDisabled != nil || !m.EffectiveSmtpClientAuthEnabled || m.SmtpClientAuthAccess != "Enabled" {
		t.Fatalf("at first: %+v; want null, enabled", m)
	}
	var res struct {
		Changes []struct{ Name, OldValue, NewValue string }
	}
	if s := rita.json("PATCH", "/api/v1/casmailboxes/christa", map[string]any{"SmtpClientAuthenticationDisabled": true}, &res); s != 200 ||
		len(res.Changes) != 1 || res.Changes[0].OldValue != "$null" || res.Changes[0].NewValue != "True" {
		t.Fatalf("PATCH true: %d %+v", s, res)
	}
	if m := read(); m.SmtpClientAuthenticationDisabled == nil || !*m.SmtpClientAuthenticationDisabled || m.EffectiveSmtpClientAuthEnabled ||
		m.SmtpClientAuthAccess != "Disabled" {
		t.Fatalf("after true: %+v", m)
	}
	// A property left out keeps the value.
	if s := rita.json("PATCH", "/api/v1/casmailboxes/christa", map[string]any{"PopEnabled": false}, nil); s != 200 {
		t.Fatalf("PATCH PopEnabled: %d", s)
	}
	if m := read(); m.SmtpClientAuthenticationDisabled == nil || !*m.SmtpClientAuthenticationDisabled {
		t.Fatalf("a PATCH without the property changed it: %+v", m)
	}
	// null: follow the organization again.
	if s := rita.json("PATCH", "/api/v1/casmailboxes/christa", map[string]any{"SmtpClientAuthenticationDisabled": nil}, &res); s != 200 ||
		len(res.Changes) != 1 || res.Changes[0].NewValue != "$null" {
		t.Fatalf("PATCH null: %d %+v", s, res)
	}
	if m := read(); m.SmtpClientAuthenticationDisabled != nil || !m.EffectiveSmtpClientAuthEnabled {
		t.Fatalf("after null: %+v", m)
	}
	// The bulk PATCH: true for one mailbox, null for another.
	var bulk struct {
		Results []struct {
			Result struct{ Identity string }
			Error  *struct{ Code, Message string }
		}
		Changed, Unchanged, Failed int
	}
	body := map[string]any{"Items": []map[string]any{
		{"Identity": "christa", "SmtpClientAuthenticationDisabled": true},
		{"Identity": "christa", "SmtpClientAuthenticationDisabled": nil},
	}}
	if s := rita.json("PATCH", "/api/v1/casmailboxes", body, &bulk); s != 200 || bulk.Changed != 2 || bulk.Failed != 0 {
		t.Fatalf("bulk PATCH: %d %+v", s, bulk)
	}
	if m := read(); m.SmtpClientAuthenticationDisabled != nil {
		t.Fatalf("after the bulk PATCH (true, then null): %+v", m)
	}
	if s, out := rita.do("PATCH", "/api/v1/casmailboxes/christa", map[string]any{"SmtpClientAuthenticationDisabled": "yes"}); s != 400 {
		t.Errorf("PATCH \"yes\": %d %s; want 400", s, out)
	}
	if m := read(); m.SmtpClientAuthenticationDisabled != nil {
		t.Errorf("a refused PATCH changed the mailbox: %+v", m)
	}
}

// TestNullableBoolSchema: the OpenAPI document gives a nullable property
// as a nullable boolean, not required, not as the struct that carries it.
func TestNullableBoolSchema(t *testing.T) {
	schemas := api.New(api.Options{}).OpenAPI()["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"SetCASMailboxBody", "BulkCASItem"} {
		s, _ := schemas[name].(map[string]any)
		props, _ := s["properties"].(map[string]any)
		p, _ := props["SmtpClientAuthenticationDisabled"].(map[string]any)
		if p["type"] != "boolean" || p["nullable"] != true {
			t.Errorf("%s.SmtpClientAuthenticationDisabled: %v; want a nullable boolean", name, p)
		}
		req, _ := s["required"].([]string)
		if slices.Contains(req, "SmtpClientAuthenticationDisabled") {
			t.Errorf("%s: SmtpClientAuthenticationDisabled is required (%v)", name, req)
		}
	}
	if _, ok := schemas["NullableBool"]; ok {
		t.Error("the document names NullableBool as an object")
	}
}
