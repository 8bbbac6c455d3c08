package admincenter

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// The sections of the "User Mailbox" dialog's console tree.
var editSections = []struct{ ID, Label string }{
	{"general", "General"},
	{"features", "Mailbox Features"},
	{"addresses", "Email Address"},
}

type sectionLink struct {
	ID, Label, URL string
	Current        bool
}

type editData struct {
	Mailbox service.CASMailbox
	Info    service.Mailbox
	Section string
	Tree    []sectionLink
	// PendingPop and PendingImap are what Save will apply; they start as
	// the stored values and change with the Enable/Disable links.
	PendingPop  bool
	PendingImap bool
	// PendingSmtp is authenticated SMTP as Save will leave it; OrigSmtp
	// the mailbox's stored state (its own SmtpClientAuthenticationDisabled,
	// or the organization's when that is $null, SmtpFollowsOrg).
	PendingSmtp    bool
	OrigSmtp       bool
	SmtpFollowsOrg bool
	// PopToggle and ImapToggle are the Enable/Disable links without script:
	// the same dialog with that pending value flipped.
	PopToggle  string
	ImapToggle string
	SmtpToggle string
	Hidden     []hiddenField
	CancelURL  string
	EmailApps  string
	Password   string
	CanChange  bool
	Deny       string
}

func boolParam(v string, def bool) bool {
	switch v {
	case "true", "1", "on":
		return true
	case "false", "0", "off":
		return false
	}
	return def
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// editPage is the "User Mailbox" dialog that Edit opens: a console tree
// (General, Mailbox Features, Email Address) and the result pane. Under
// Mailbox Features, Email Connectivity shows "POP3: Enabled" with a Disable
// link (or "POP3: Disabled" with Enable), and the same for IMAP4; the links
// change the pending state only, Save applies it.
func (c *Center) editPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	m, err := c.oneMailbox(r, s, q, "Edit works on one mailbox. Select it in the list (click it, or move to it with the arrow keys), then choose Edit. To change several mailboxes at once, select them all and use Bulk Edit in the details pane.")
	if err != nil {
		return err
	}
	info, err := c.svc.GetMailbox(r.Context(), s.caller, m.Guid)
	if err != nil {
		return err
	}
	l := listStateFrom(q)
	origSmtp := smtpEnabled(m)
	d := editData{Mailbox: m, Info: info, Section: "general",
		PendingPop: boolParam(q.Get("pop"), m.PopEnabled), PendingImap: boolParam(q.Get("imap"), m.ImapEnabled),
		PendingSmtp: boolParam(q.Get("smtp"), origSmtp), OrigSmtp: origSmtp, SmtpFollowsOrg: m.SmtpClientAuthenticationDisabled == nil,
		Hidden: l.hidden(), CancelURL: l.url(m.Guid), CanChange: s.caller.Can(rbac.MailRecipients)}
	for _, sec := range editSections {
		if q.Get("section") == sec.ID {
			d.Section = sec.ID
		}
	}
	at := func(section string, pop, imap, smtp bool) string {
		v := l.values()
		v.Set("section", section)
		if pop != m.PopEnabled {
			v.Set("pop", boolText(pop))
		}
		if imap != m.ImapEnabled {
			v.Set("imap", boolText(imap))
		}
		if smtp != origSmtp {
			v.Set("smtp", boolText(smtp))
		}
		return withQuery(editPath, v, m.Guid)
	}
	for _, sec := range editSections {
		d.Tree = append(d.Tree, sectionLink{ID: sec.ID, Label: sec.Label, URL: at(sec.ID, d.PendingPop, d.PendingImap, d.PendingSmtp), Current: sec.ID == d.Section})
	}
	d.PopToggle = at("features", !d.PendingPop, d.PendingImap, d.PendingSmtp)
	d.ImapToggle = at("features", d.PendingPop, !d.PendingImap, d.PendingSmtp)
	d.SmtpToggle = at("features", d.PendingPop, d.PendingImap, !d.PendingSmtp)
	state := l.values()
	d.EmailApps = withQuery(emailAppsPath, state, m.Guid)
	d.Password = withQuery(passwordPath, state, m.Guid)
	if !d.CanChange {
		d.Deny = denyReason(&s.caller, string(rbac.MailRecipients))
	}
	page := c.newPage(w, r, s, "User Mailbox - "+m.DisplayName, "recipients", "mailboxes")
	page.Data = d
	c.render(w, r, http.StatusOK, "edit", page)
	return nil
}

// editSave applies the pending state of the dialog through the service:
// only what the administrator changed in the dialog is sent, so a Save
// without changes changes nothing (and closes the dialog, as in Exchange).
func (c *Center) editSave(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	ids := selection(f)
	if len(ids) != 1 {
		return userError(http.StatusBadRequest, "Select one mailbox", "The form didn't say which mailbox to change.")
	}
	l := listStateFrom(f)
	req := service.SetCASMailboxRequest{Identity: ids[0]}
	if pop, orig := boolParam(f.Get("pop"), true), boolParam(f.Get("orig_pop"), true); pop != orig {
		req.PopEnabled = &pop
	}
	if imap, orig := boolParam(f.Get("imap"), true), boolParam(f.Get("orig_imap"), true); imap != orig {
		req.ImapEnabled = &imap
	}
	if smtp, orig := boolParam(f.Get("smtp"), true), boolParam(f.Get("orig_smtp"), true); smtp != orig {
		// Enable and Disable set the mailbox's own value, as Exchange's
		// admin center does; $null (follow the organization) is the
		// shell's.
		disabled := !smtp
		req.SmtpClientAuthenticationDisabled = service.NullableBool{Set: true, Value: &disabled}
	}
	if req.PopEnabled == nil && req.ImapEnabled == nil && !req.SmtpClientAuthenticationDisabled.Set {
		return c.redirect(w, r, l.url(ids[0]), nil)
	}
	res, err := c.svc.SetCASMailbox(r.Context(), s.caller, req)
	if err != nil {
		return err
	}
	return c.redirect(w, r, l.url(ids[0]), resultFlash(res))
}

// resultFlash describes a Set-CASMailbox result: what changed, and the
// sessions it closed; or Exchange's warning when nothing changed.
func resultFlash(res service.Result) *flash {
	if res.NoChange {
		return &flash{Kind: "warning", Text: res.Warning()}
	}
	var parts []string
	for _, ch := range res.Changes {
		word := enabledWord(ch.NewValue)
		if ch.Name == "SmtpClientAuthenticationDisabled" {
			switch {
			case ch.NewValue == "$null":
				word = "following the organization"
			case strings.EqualFold(ch.NewValue, "True"):
				word = "disabled"
			default:
				word = "enabled"
			}
		}
		parts = append(parts, fmt.Sprintf("%s %s", protocolLabel(ch.Name), word))
	}
	f := &flash{Kind: "success", Text: fmt.Sprintf("Saved %s: %s.", res.Identity, strings.Join(parts, ", "))}
	if line := sessionsLine(res.Sessions); line != "" {
		f.Lines = append(f.Lines, line)
	}
	return f
}

func protocolLabel(property string) string {
	switch property {
	case "PopEnabled":
		return "POP3"
	case "ImapEnabled":
		return "IMAP4"
	case "SmtpClientAuthenticationDisabled":
		return "Authenticated SMTP"
	}
	return property
}

func enabledWord(v string) string {
	if strings.EqualFold(v, "True") {
		return "enabled"
	}
	return "disabled"
}

// sessionsLine says how many open sessions a change closed, by protocol.
func sessionsLine(ss []service.OpenSession) string {
	if len(ss) == 0 {
		return ""
	}
	verb := "were"
	if len(ss) == 1 {
		verb = "was"
	}
	return fmt.Sprintf("%s (%s) %s closed.", plural(len(ss), "open session", "open sessions"), sessionsByProtocol(ss), verb)
}

// sessionsByProtocol writes "1 POP3, 2 IMAP4".
func sessionsByProtocol(ss []service.OpenSession) string {
	by := map[string]int{}
	for _, s := range ss {
		by[s.Protocol]++
	}
	var parts []string
	for _, p := range []string{"POP3", "IMAP4", "Authenticated SMTP"} {
		if by[p] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", by[p], p))
		}
	}
	return strings.Join(parts, ", ")
}

// smtpEnabled is whether authenticated SMTP is on for the mailbox by its
// stored settings: its own SmtpClientAuthenticationDisabled, or the
// organization's when that is $null (security defaults aside, as for POP3
// and IMAP4).
func smtpEnabled(m service.CASMailbox) bool {
	if v := m.SmtpClientAuthenticationDisabled; v != nil {
		return !*v
	}
	return m.SmtpState != service.AccessOrgDisabled
}

// oneMailbox reads the one mailbox a page's query or a form names; why is
// what the admin reads when it names none or several.
func (c *Center) oneMailbox(r *http.Request, s *session, v url.Values, why string) (service.CASMailbox, error) {
	ids := selection(v)
	if len(ids) != 1 {
		return service.CASMailbox{}, userError(http.StatusBadRequest, "Select one mailbox", why)
	}
	return c.svc.GetCASMailbox(r.Context(), s.caller, ids[0])
}
