package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/message"
	"github.com/gatehouse-mail/gatehouse/internal/service"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// DefaultDemoPassword is the password of the demo mailboxes unless
// --demo-password says otherwise. It is printed at every --demo start.
const DefaultDemoPassword = "Contoso-Demo-2026"

// demoPerson is one mailbox of the sample organization. Christa Knapp is
// the user of Microsoft's own procedure; Christa Lee shares her first name,
// so "Christa*" is ambiguous; the last three are admins in the other role
// groups, so every role can be tried.
type demoPerson struct {
	name, alias, role string
	extra             []string
}

var demoPeople = []demoPerson{
	{name: "Christa Knapp", alias: "christa"},
	{name: "Christa Lee", alias: "christa.lee"},
	{name: "Kim Akers", alias: "kim", extra: []string{"sales"}},
	{name: "Ben Andrews", alias: "ben"},
	{name: "David Longmuir", alias: "david"},
	{name: "Pilar Pinilla", alias: "pilar"},
	{name: "Rita Rahman", alias: "rita", role: "Recipient Management"},
	{name: "Holly Holt", alias: "holly", role: "Help Desk"},
	{name: "Victor Vance", alias: "victor", role: "View-Only Organization Management"},
}

// seedDemo adds the sample organization. It is idempotent: a mailbox that
// exists (by alias) is left alone, mail included.
func (s *Server) seedDemo(ctx context.Context, out io.Writer) error {
	password := s.cfg.DemoPassword
	if password == "" {
		password = DefaultDemoPassword
	}
	if err := service.CheckPassword(password); err != nil {
		return fmt.Errorf("--demo-password: %w", err)
	}
	var hash, scram string
	created, existing := 0, 0
	for i, p := range demoPeople {
		var found bool
		if err := s.Store.View(ctx, func(tx store.Tx) error {
			ms, err := tx.FindMailboxes(ctx, p.alias, 1)
			found = len(ms) > 0
			return err
		}); err != nil {
			return err
		}
		if found {
			existing++
			continue
		}
		if hash == "" {
			var err error
			if hash, scram, err = s.Checker.Credentials(password); err != nil {
				return err
			}
		}
		now := time.Now().UTC()
		addr := p.alias + "@" + s.cfg.Domain
		m := store.Mailbox{Name: p.name, DisplayName: p.name, Alias: p.alias, PrimarySmtpAddress: addr,
			UserPrincipalName: addr, PasswordHash: hash, SCRAMSHA256: scram, WhenCreated: now, WhenChanged: now}
		for _, e := range p.extra {
			m.EmailAddresses = append(m.EmailAddresses, e+"@"+s.cfg.Domain)
		}
		err := s.Store.Update(ctx, func(tx store.Tx) error {
			plan, err := tx.Plan(ctx)
			if err != nil {
				return err
			}
			m.PopEnabled, m.ImapEnabled = plan.PopEnabled, plan.ImapEnabled
			if err := tx.InsertMailbox(ctx, &m); err != nil {
				return err
			}
			params := []store.Parameter{{Name: "Name", Value: m.Name}, {Name: "Alias", Value: m.Alias}}
			if p.role != "" {
				g, err := tx.RoleGroupByName(ctx, p.role)
				if err != nil {
					return err
				}
				if err := tx.AddRoleGroupMember(ctx, g.ID, m.ID); err != nil {
					return err
				}
				params = append(params, store.Parameter{Name: "RoleGroup", Value: g.Name})
			}
			return tx.InsertAudit(ctx, &store.AuditRecord{RunDate: now, Caller: "gatehouse serve --demo", Surface: "setup",
				CmdletName: "New-Mailbox", ObjectModified: m.Name, Succeeded: true, CmdletParameters: params})
		})
		if err != nil {
			return fmt.Errorf("create %s: %w", p.name, err)
		}
		for _, raw := range demoMessages(s.cfg.Domain, p, i) {
			if err := s.deliverRaw(ctx, m.ID, raw.text, raw.seen); err != nil {
				return err
			}
		}
		created++
	}
	if created > 0 {
		fmt.Fprintf(out, "Demo: created %d mailboxes with sample mail; password for each: %s\n", created, password)
	}
	if existing > 0 {
		fmt.Fprintf(out, "Demo: %d demo mailboxes already exist and were left as they are (their password is what it was when created; by default %s)\n",
			existing, DefaultDemoPassword)
	}
	fmt.Fprintf(out, "Demo users: christa@%s (Christa Knapp) and colleagues; admins in other role groups: rita (Recipient Management), holly (Help Desk), victor (View-Only)\n", s.cfg.Domain)
	return nil
}

func (s *Server) deliverRaw(ctx context.Context, mailboxID int64, raw string, seen bool) error {
	b := message.Normalize([]byte(raw))
	p := message.Parse(b)
	msg := store.NewMessage{InternalDate: p.Date(), Raw: b, Structure: p.Marshal(),
		Summary: store.Summary{Subject: p.Subject(), From: p.From(), To: p.To(), Cc: p.Cc(), SentDate: p.Date()},
		Preview: p.PreviewOf(b), HasPreview: true, HasBinary: p.HasBinary()}
	if msg.InternalDate.IsZero() {
		msg.InternalDate = time.Now()
	}
	if seen {
		msg.Flags = store.FlagSeen
	}
	_, err := s.Store.Deliver(ctx, []int64{mailboxID}, msg)
	return err
}

type demoMessage struct {
	text string
	seen bool
}

var demoSenders = []struct{ name, addr string }{
	{"Jürgen Müller", "juergen.mueller@fabrikam.de"},
	{"Ana Lopez", "ana.lopez@adventure-works.com"},
	{"Contoso IT", "it@contoso.com"},
	{"Søren Kierkegaard", "soren@tailspintoys.dk"},
	{"田中 美咲", "misaki.tanaka@wingtiptoys.jp"},
	{"Margaux Dubois", "margaux@litware.fr"},
	{"GitHub", "noreply@github.com"},
	{"Northwind Traders", "orders@northwindtraders.com"},
}

var demoSubjects = []string{
	"Quarterly sales figures",
	"Grüße aus München – Termin nächste Woche",
	"Your order #48213 has shipped",
	"Re: Budget review for Q3",
	"Lunch on Friday?",
	"Résumé des décisions de la réunion",
	"会議の議事録",
	"Password expiry notice",
	"Invitation: Project kickoff",
	"Photos from the offsite",
	"Contract draft v2 (please review)",
	"Fwd: Customer feedback",
}

// demoMessages makes 24 realistic messages of several kinds: plain text,
// HTML, multipart/alternative, attachments, encoded non-ASCII headers, a
// thread, a calendar invitation.
func demoMessages(domain string, p demoPerson, seed int) []demoMessage {
	to := fmt.Sprintf("%s <%s@%s>", p.name, p.alias, domain)
	base := time.Date(2026, 10, 20, 8, 30, 0, 0, time.UTC)
	var out []demoMessage
	for i := 0; i < 24; i++ {
		from := demoSenders[(i+seed)%len(demoSenders)]
		subject := demoSubjects[(i*5+seed)%len(demoSubjects)]
		date := base.Add(time.Duration(i*37+seed*3) * time.Hour).Add(time.Duration(i*7) * time.Minute)
		id := fmt.Sprintf("<demo-%d-%d@%s>", seed, i, domain)
		h := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n",
			mime.QEncoding.Encode("utf-8", from.name)+" <"+from.addr+">", to, mime.QEncoding.Encode("utf-8", subject),
			date.Format(time.RFC1123Z), id)
		if i > 0 && i%6 == 0 {
			h += fmt.Sprintf("In-Reply-To: <demo-%d-%d@%s>\r\nReferences: <demo-%d-%d@%s>\r\n", seed, i-1, domain, seed, i-1, domain)
		}
		var body string
		switch i % 6 {
		case 0:
			body = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
				fmt.Sprintf("Hi %s,\r\n\r\nplease find the latest numbers below.\r\n\r\n  Region   Q2      Q3\r\n  North    1,204   1,388\r\n  South      877     942\r\n\r\nBest regards,\r\n%s\r\n",
					strings.Fields(p.name)[0], from.name)
		case 1:
			body = "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
				"<html><body><h1>Hallo!</h1><p>Wir freuen uns auf das Treffen am <b>Dienstag</b> um 10:00 Uhr.</p>" +
				"<p>Viele Gr=C3=BC=C3=9Fe<br>J=C3=BCrgen</p></body></html>\r\n"
		case 2:
			body = "Content-Type: multipart/alternative; boundary=\"alt-" + fmt.Sprint(i) + "\"\r\n\r\n" +
				"--alt-" + fmt.Sprint(i) + "\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nYour order has shipped and will arrive on Thursday.\r\n" +
				"--alt-" + fmt.Sprint(i) + "\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>Your order has <b>shipped</b> and will arrive on Thursday.</p>\r\n" +
				"--alt-" + fmt.Sprint(i) + "--\r\n"
		case 3:
			pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n% Gatehouse demo attachment\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"))
			body = "Content-Type: multipart/mixed; boundary=\"mix-" + fmt.Sprint(i) + "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n" +
				"--mix-" + fmt.Sprint(i) + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe draft is attached. Changes are marked in section 4.\r\n" +
				"--mix-" + fmt.Sprint(i) + "\r\nContent-Type: application/pdf; name=\"Contract draft v2.pdf\"\r\nContent-Disposition: attachment; filename=\"Contract draft v2.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
				pdf + "\r\n--mix-" + fmt.Sprint(i) + "--\r\n"
		case 4:
			body = "Content-Type: text/calendar; charset=utf-8; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n" +
				"UID:" + strings.Trim(id, "<>") + "\r\nDTSTART:20261201T090000Z\r\nDTEND:20261201T100000Z\r\nSUMMARY:Project kickoff\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		default:
			png := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"))
			body = "Content-Type: multipart/mixed; boundary=\"img-" + fmt.Sprint(i) + "\"\r\n\r\n" +
				"--img-" + fmt.Sprint(i) + "\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHere are the photos from the offsite. Tr=E8s bien!\r\n" +
				"--img-" + fmt.Sprint(i) + "\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename=\"team.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
				png + "\r\n--img-" + fmt.Sprint(i) + "--\r\n"
		}
		out = append(out, demoMessage{text: h + body, seen: i < 16})
	}
	return out
}
