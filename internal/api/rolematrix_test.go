package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv"
	"github.com/gatehouse-mail/gatehouse/internal/testenv/rolematrix"
)

// restRequest is the REST request of a matrix cell.
func restRequest(t *testing.T, e *testenv.Env, c rolematrix.Cell) (method, path, body string) {
	t.Helper()
	id := url.PathEscape(c.TargetID)
	switch c.Op {
	case rolematrix.SetPassword:
		return "PATCH", "/api/v1/mailboxes/" + id, `{"Password":"Matrix-Reset-2026"}`
	case rolematrix.SetMailbox:
		return "PATCH", "/api/v1/mailboxes/" + id, fmt.Sprintf(`{"DisplayName":"Renamed %s"}`, c.TargetID)
	case rolematrix.SetCAS:
		return "PATCH", "/api/v1/casmailboxes/" + id, `{"PopEnabled":false}`
	case rolematrix.SetQuota:
		return "PATCH", "/api/v1/mailboxes/" + id, `{"ProhibitSendReceiveQuota":"2GB","IssueWarningQuota":"1.8GB"}`
	case rolematrix.SetCASBulk:
		return "PATCH", "/api/v1/casmailboxes", fmt.Sprintf(`{"Items":[{"Identity":%q,"PopEnabled":false}]}`, c.TargetID)
	case rolematrix.RemoveMailbox:
		return "DELETE", "/api/v1/mailboxes/" + id, ""
	case rolematrix.AddMember:
		return "POST", "/api/v1/rolegroups/Organization%20Management/members", fmt.Sprintf(`{"Member":%q}`, c.TargetID)
	case rolematrix.RemoveMember:
		group := c.TargetGroup
		if group == "" {
			group = "Help Desk"
		}
		return "DELETE", "/api/v1/rolegroups/" + url.PathEscape(group) + "/members/" + id, ""
	case rolematrix.NewMigrationBatch:
		ep := rolematrix.MigrationEndpoint(t, e)
		return "POST", "/api/v1/migrationbatches", fmt.Sprintf(`{"Name":%q,"SourceEndpoint":%q,"CSVData":%q}`, c.Name, ep,
			base64.StdEncoding.EncodeToString([]byte(c.MigrationCSV())))
	case rolematrix.NewMailbox:
		return "POST", "/api/v1/mailboxes", fmt.Sprintf(`{"Name":%q,"Password":%q}`, c.Name, rolematrix.StrongPassword)
	case rolematrix.SetPlan:
		p, err := e.Service.GetCASMailboxPlan(context.Background(), rolematrix.Admin(t, e))
		if err != nil {
			t.Fatal(err)
		}
		return "PATCH", "/api/v1/casmailboxplan", fmt.Sprintf(`{"PopEnabled":%v}`, !p.PopEnabled)
	case rolematrix.SetOrg:
		o, err := e.Service.GetOrganizationConfig(context.Background(), rolematrix.Admin(t, e))
		if err != nil {
			t.Fatal(err)
		}
		return "PATCH", "/api/v1/organizationconfig", fmt.Sprintf(`{"SecurityDefaultsEnabled":%v}`, !o.SecurityDefaultsEnabled)
	}
	switch c.Op {
	case rolematrix.SetSmtpAuth:
		return "PATCH", "/api/v1/casmailboxes/" + id, `{"SmtpClientAuthenticationDisabled":true}`
	case rolematrix.SetTransport:
		o, err := e.Service.GetTransportConfig(context.Background(), rolematrix.Admin(t, e))
		if err != nil {
			t.Fatal(err)
		}
		return "PATCH", "/api/v1/transportconfig", fmt.Sprintf(`{"SmtpClientAuthenticationDisabled":%v}`, !o.SmtpClientAuthenticationDisabled)
	case rolematrix.RetryQueue:
		rolematrix.QueuedMessage(t, e)
		return "POST", "/api/v1/queues/Smarthost/retry", ""
	case rolematrix.RemoveMessage:
		return "DELETE", "/api/v1/queuemessages/" + url.PathEscape(rolematrix.QueuedMessage(t, e)), ""
	case rolematrix.NewAuthPolicy:
		return "POST", "/api/v1/authenticationpolicies", fmt.Sprintf(`{"Name":%q}`, c.Name)
	case rolematrix.SetUserAuthPolicy:
		return "PATCH", "/api/v1/users/" + id, fmt.Sprintf(`{"AuthenticationPolicy":%q}`, rolematrix.AuthPolicy(t, e))
	case rolematrix.NewAppPassword:
		return "POST", "/api/v1/mailboxes/" + id + "/apppasswords", `{"Name":"Phone"}`
	case rolematrix.RemoveAppPassword:
		return "DELETE", "/api/v1/mailboxes/" + id + "/apppasswords/" + url.PathEscape(c.AppPassword(t, e)), ""
	}
	t.Fatalf("no REST request for %s", c.Op.Name)
	return
}

// TestRoleMatrix runs every state-changing REST endpoint as a member of each
// role group on each kind of target mailbox (internal/testenv/rolematrix)
// and checks the answer (2xx, 403 AccessDenied, or a refusal of the values)
// and the audit record the attempt left. It is the finding 1 of issue 11:
// Help Desk reset the password of an Organization Management member.
func TestRoleMatrix(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true})
	for _, cell := range rolematrix.Cells(rolematrix.Ops) {
		t.Run(cell.String(), func(t *testing.T) {
			cell.Prepare(t, e)
			c := signIn(t, e, cell.User, cell.Password)
			method, path, body := restRequest(t, e, cell)
			var b any
			if body != "" {
				b = body
			}
			status, out := c.do(method, path, b)
			got := rolematrix.Refused
			switch {
			case status < 300:
				got = rolematrix.Allowed
			case status == http.StatusForbidden:
				got = rolematrix.Denied
				if eb := errorOf(t, out); eb.Error.Code != "AccessDenied" {
					t.Errorf("got code %q; want AccessDenied", eb.Error.Code)
				}
			}
			if cell.Op == rolematrix.SetCASBulk && status == http.StatusOK {
				// A bulk change answers 200 and refuses item by item.
				var r struct {
					Failed  int
					Results []struct {
						Error *struct{ Code, Message string }
					}
				}
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatal(err)
				}
				if r.Failed == 1 {
					got = rolematrix.Refused
					if r.Results[0].Error.Code == "AccessDenied" {
						got = rolematrix.Denied
					}
				}
			}
			if want := cell.Want(); got != want {
				t.Fatalf("%s %s %s: got %s (%d %s); want %s", method, path, body, got, status, strings.TrimSpace(string(out)), want)
			}
			cell.CheckAudit(t, e, "api", got)
		})
	}
}
