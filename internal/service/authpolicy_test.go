package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// TestAuthenticationPolicies runs the policy cmdlets through the service:
// Exchange's default (a new policy blocks basic authentication unless a
// switch allows it), set, assign to a user and as the organization's
// default, removal refused while in use, RBAC (Organization Management
// changes, View-Only reads), audit, and the access events that make the
// registry close sessions a policy now blocks.
func TestAuthenticationPolicies(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 2)
	viewOnly := caller(rbac.ViewOnlyOrganizationManagement)
	no, yes := false, true

	if _, err := e.svc.NewAuthenticationPolicy(ctx, recipient, service.NewAuthenticationPolicyRequest{Name: "Block Basic"}); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("Recipient Management: got %v; want forbidden", err)
	}
	if _, err := e.svc.NewAuthenticationPolicy(ctx, orgAdmin, service.NewAuthenticationPolicyRequest{Name: "Block Basic", AllowBasicAuthPop: true}); err != nil {
		t.Fatal(err)
	}
	var ce *service.ConflictError
	if _, err := e.svc.NewAuthenticationPolicy(ctx, orgAdmin, service.NewAuthenticationPolicyRequest{Name: "block basic"}); !errors.As(err, &ce) {
		t.Errorf("duplicate: got %v; want a conflict", err)
	}
	var ve *service.ValidationError
	if _, err := e.svc.NewAuthenticationPolicy(ctx, orgAdmin, service.NewAuthenticationPolicyRequest{Name: " "}); !errors.As(err, &ve) {
		t.Errorf("empty name: got %v; want a validation error", err)
	}
	ps, err := e.svc.GetAuthenticationPolicies(ctx, viewOnly, "")
	if err != nil || len(ps) != 1 || !ps[0].AllowBasicAuthPop || ps[0].AllowBasicAuthImap || ps[0].AllowBasicAuthSmtp {
		t.Fatalf("Get-AuthenticationPolicy: %+v, %v", ps, err)
	}
	if _, err := e.svc.GetAuthenticationPolicies(ctx, viewOnly, "nope"); !errors.Is(err, store.ErrNotFound) ||
		!strings.Contains(err.Error(), "couldn't be found") {
		t.Errorf("unknown policy: got %v", err)
	}
	if _, err := e.svc.SetAuthenticationPolicy(ctx, viewOnly, "Block Basic", service.SetAuthenticationPolicyRequest{AllowBasicAuthPop: &no}); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("View-Only set: got %v; want forbidden", err)
	}

	// Assigning and narrowing publish access events.
	e.mu.Lock()
	e.events = nil
	e.mu.Unlock()
	if _, err := e.svc.SetUserAuthenticationPolicy(ctx, orgAdmin, "user000001", "BLOCK BASIC", false); err != nil {
		t.Fatal(err)
	}
	u, err := e.svc.GetUser(ctx, viewOnly, "user000001")
	if err != nil || u.AuthenticationPolicy != "Block Basic" {
		t.Errorf("Get-User: %+v, %v", u, err)
	}
	res, err := e.svc.SetAuthenticationPolicy(ctx, orgAdmin, "Block Basic", service.SetAuthenticationPolicyRequest{AllowBasicAuthPop: &no, AllowBasicAuthSmtp: &yes})
	if err != nil || len(res.Changes) != 2 {
		t.Fatalf("Set-AuthenticationPolicy: %+v, %v", res, err)
	}
	if res, err := e.svc.SetAuthenticationPolicy(ctx, orgAdmin, "Block Basic", service.SetAuthenticationPolicyRequest{AllowBasicAuthPop: &no}); err != nil || !res.NoChange {
		t.Errorf("no-op set: %+v, %v", res, err)
	}
	if _, err := e.svc.SetOrganizationConfig(ctx, orgAdmin, service.SetOrganizationConfigRequest{DefaultAuthenticationPolicy: strp("Block Basic")}); err != nil {
		t.Fatal(err)
	}
	org, err := e.svc.GetOrganizationConfig(ctx, viewOnly)
	if err != nil || org.DefaultAuthenticationPolicy != "Block Basic" {
		t.Errorf("Get-OrganizationConfig: %+v, %v", org, err)
	}
	e.mu.Lock()
	var kinds []string
	for _, ev := range e.events {
		if ev.Kind == notify.AccessChanged {
			kinds = append(kinds, "access")
		}
	}
	e.mu.Unlock()
	if len(kinds) != 3 {
		t.Errorf("access events: got %d; want 3 (assign, narrow, default)", len(kinds))
	}

	// Removal is refused while the policy is used, then allowed.
	if _, err := e.svc.RemoveAuthenticationPolicy(ctx, orgAdmin, "Block Basic", false); !errors.As(err, &ve) || !strings.Contains(err.Error(), "default") {
		t.Errorf("remove the default: got %v", err)
	}
	if _, err := e.svc.SetOrganizationConfig(ctx, orgAdmin, service.SetOrganizationConfigRequest{DefaultAuthenticationPolicy: strp("")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RemoveAuthenticationPolicy(ctx, orgAdmin, "Block Basic", false); !errors.As(err, &ve) || !strings.Contains(err.Error(), "assigned to 1 user") {
		t.Errorf("remove an assigned policy: got %v", err)
	}
	if _, err := e.svc.SetUserAuthenticationPolicy(ctx, orgAdmin, "user000001", "", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RemoveAuthenticationPolicy(ctx, orgAdmin, "Block Basic", false); err != nil {
		t.Errorf("remove: %v", err)
	}
	if ps, _ := e.svc.GetAuthenticationPolicies(ctx, viewOnly, ""); len(ps) != 0 {
		t.Errorf("after remove: %+v", ps)
	}

	// Every change is audited, refusals included.
	st := e.state(t)
	want := map[string]int{"New-AuthenticationPolicy": 4, "Set-AuthenticationPolicy": 2, "Set-User": 2, "Remove-AuthenticationPolicy": 3}
	got := map[string]int{}
	for _, a := range st.audit {
		got[a.CmdletName]++
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("audit records of %s: got %d; want %d", k, got[k], n)
		}
	}
}

func strp(s string) *string { return &s }
