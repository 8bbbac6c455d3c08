package service_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/auth"
	"github.com/gatehouse-mail/gatehouse/internal/notify"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// TestAppPasswords runs the app password operations through the service:
// made with a secret shown once (only its hash stored, never audited),
// listed, names unique per mailbox, the cap, RBAC and the write scope,
// revoked with an access event, revoked all by a password reset, and the
// self-service forms.
func TestAppPasswords(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 3)
	viewOnly := caller(rbac.ViewOnlyOrganizationManagement)

	r, err := e.svc.NewAppPassword(ctx, helpDesk, "user000001", " Phone ", false)
	if err != nil {
		t.Fatal(err)
	}
	if !auth.LooksLikeAppPassword(r.Password) || r.AppPassword.Name != "Phone" || r.AppPassword.Identity != `User user000001\Phone` {
		t.Errorf("New-AppPassword: got %+v", r)
	}
	var stored store.AppPassword
	if err := e.st.View(ctx, func(tx store.Tx) error {
		var err error
		stored, err = tx.AppPasswordBySecret(ctx, auth.AppPasswordHash(r.Password))
		return err
	}); err != nil || stored.Name != "Phone" {
		t.Fatalf("stored by the hash of the secret: %+v, %v", stored, err)
	}
	if strings.Contains(stored.SecretHash, r.Password) {
		t.Error("the secret is stored")
	}
	w, err := e.svc.NewAppPassword(ctx, orgAdmin, "user000001", "Laptop", true)
	if err != nil || w.Password != "" || !w.WhatIf {
		t.Errorf("WhatIf: got %+v, %v; want no secret", w, err)
	}
	var ce *service.ConflictError
	if _, err := e.svc.NewAppPassword(ctx, orgAdmin, "user000001", "PHONE", false); !errors.As(err, &ce) {
		t.Errorf("same name: got %v; want a conflict", err)
	}
	var ve *service.ValidationError
	for _, bad := range []string{"", " ", "a\\b", "line\nbreak", strings.Repeat("x", 65)} {
		if _, err := e.svc.NewAppPassword(ctx, orgAdmin, "user000001", bad, false); !errors.As(err, &ve) {
			t.Errorf("name %q: got %v; want a validation error", bad, err)
		}
	}
	if _, err := e.svc.NewAppPassword(ctx, viewOnly, "user000001", "Tablet", false); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("View-Only: got %v; want forbidden", err)
	}
	// An administrator's mailbox: a credential, so Role Management only.
	if _, err := e.svc.AddRoleGroupMember(ctx, orgAdmin, rbac.HelpDesk, "user000002", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.NewAppPassword(ctx, helpDesk, "user000002", "Phone", false); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("Help Desk for a Help Desk member: got %v; want forbidden (write scope)", err)
	}
	if _, err := e.svc.NewAppPassword(ctx, orgAdmin, "user000002", "Phone", false); err != nil {
		t.Errorf("Organization Management for a Help Desk member: %v", err)
	}

	ps, err := e.svc.GetAppPasswords(ctx, viewOnly, "user000001@contoso.com")
	if err != nil || len(ps) != 1 || ps[0].Name != "Phone" || ps[0].WhenCreated.IsZero() || !ps[0].LastUsed.IsZero() {
		t.Errorf("Get-AppPassword: %+v, %v", ps, err)
	}
	if _, err := e.svc.GetAppPasswords(ctx, viewOnly, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown mailbox: got %v", err)
	}

	// The cap.
	for i := 1; i < service.MaxAppPasswords; i++ {
		if _, err := e.svc.NewAppPassword(ctx, orgAdmin, "user000000", "App "+string(rune('A'+i/26))+string(rune('a'+i%26)), false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.NewAppPassword(ctx, orgAdmin, "user000000", "One more", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.NewAppPassword(ctx, orgAdmin, "user000000", "Too many", false); !errors.As(err, &ve) || !strings.Contains(err.Error(), "40 app passwords") {
		t.Errorf("over the cap: got %v", err)
	}

	// Revoke: an access event for the mailbox; unknown names are not found.
	before := len(e.published())
	res, err := e.svc.RemoveAppPassword(ctx, helpDesk, "user000001", "phone", false)
	if err != nil || len(res.Changes) != 1 || res.Changes[0].OldValue != "Phone" {
		t.Fatalf("Remove-AppPassword: %+v, %v", res, err)
	}
	if ev := e.published()[before:]; !slices.ContainsFunc(ev, func(v notify.Event) bool { return v.Kind == notify.AccessChanged && v.MailboxID != 0 }) {
		t.Errorf("revocation events: got %+v; want AccessChanged of the mailbox", ev)
	}
	if _, err := e.svc.RemoveAppPassword(ctx, helpDesk, "user000001", "phone", false); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removed twice: got %v; want not found", err)
	}

	// A password reset revokes them all.
	res, err = e.svc.SetMailbox(ctx, helpDesk, "user000000", service.SetMailboxRequest{Password: ptr("New-Pass-2026")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(res.Changes, func(c store.PropertyChange) bool {
		return c.Name == "AppPasswords" && strings.Contains(c.OldValue, "One more")
	}) {
		t.Errorf("reset result: got %+v; want AppPasswords revoked", res.Changes)
	}
	if ps, _ := e.svc.GetAppPasswords(ctx, viewOnly, "user000000"); len(ps) != 0 {
		t.Errorf("after the reset: %d app passwords left", len(ps))
	}

	// Self-service: no role needed, only the caller's own mailbox.
	var self service.Caller
	if err := e.st.View(ctx, func(tx store.Tx) error {
		ms, err := tx.FindMailboxes(ctx, "user000001", 1)
		if err == nil {
			self = service.Caller{MailboxID: ms[0].ID, Name: ms[0].UserPrincipalName, Surface: service.SurfaceAPI}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	own, err := e.svc.NewOwnAppPassword(ctx, self, "Thunderbird", false)
	if err != nil || own.Password == "" {
		t.Fatalf("NewOwnAppPassword: %+v, %v", own, err)
	}
	if ps, err := e.svc.OwnAppPasswords(ctx, self); err != nil || len(ps) != 1 || ps[0].Name != "Thunderbird" {
		t.Errorf("OwnAppPasswords: %+v, %v", ps, err)
	}
	if _, err := e.svc.GetAppPasswords(ctx, self, "user000000"); !errors.Is(err, service.ErrForbidden) {
		t.Errorf("a user reading another's: got %v; want forbidden", err)
	}
	if _, err := e.svc.RemoveOwnAppPassword(ctx, self, "Thunderbird", false); err != nil {
		t.Errorf("RemoveOwnAppPassword: %v", err)
	}

	// The audit log names the app passwords, never a secret.
	recs, err := e.svc.SearchAdminAuditLog(ctx, orgAdmin, service.AuditSearch{Cmdlets: []string{"New-AppPassword", "Remove-AppPassword"}, ResultSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 5 {
		t.Errorf("audit: got %d records", len(recs))
	}
	var all strings.Builder
	for _, rec := range recs {
		all.WriteString(rec.Error)
		for _, p := range rec.CmdletParameters {
			all.WriteString(p.Value)
		}
		for _, c := range rec.ModifiedProperties {
			all.WriteString(c.OldValue + c.NewValue)
		}
	}
	for _, secret := range []string{r.Password, own.Password} {
		if strings.Contains(all.String(), secret) {
			t.Error("an app password's secret is in the audit log")
		}
	}
}
