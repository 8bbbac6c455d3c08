package service

import (
	"context"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// SignIn is one POP3 or IMAP4 login attempt of a mailbox, as the login
// records hold it.
type SignIn struct {
	Time     time.Time
	Protocol string // "POP3", "IMAP4" or "Authenticated SMTP"
	// Result is "Success", or why the attempt was refused: "Invalid
	// credentials", "Protocol disabled", "Blocked by security defaults",
	// "Throttled", "No TLS".
	Result        string
	Reason        string // the record's own words ("IMAP4 access is disabled for this mailbox. ...")
	ClientAddress string
	TLS           bool
	ClientName    string
	ClientVersion string
}

// RecentSignIns is a mailbox's last successful POP3 and IMAP4 sign-in and
// its last refused attempts, from the login records (kept 90 days by
// default).
type RecentSignIns struct {
	Identity string
	LastPop  *SignIn
	LastImap *SignIn
	Refusals []SignIn // newest first
}

// RecentRefusals is how many refused attempts RecentSignIns lists.
const RecentRefusals = 5

var refusedResults = []string{store.LoginFailed, store.LoginDisabled, store.LoginBlocked, store.LoginThrottled, store.LoginNoTLS}

// GetRecentSignIns reads a mailbox's recent sign-ins. It needs what the
// email apps usage report needs (View-Only Recipients): the same records,
// for one mailbox.
func (s *Service) GetRecentSignIns(ctx context.Context, c Caller, identity string) (RecentSignIns, error) {
	var out RecentSignIns
	err := s.read(ctx, c, "Get-RecentSignIns", rbac.ViewRecipients, func(tx store.Tx) error {
		m, err := s.resolve(ctx, tx, identity)
		if err != nil {
			return err
		}
		out.Identity = m.Name
		last := func(protocol string) (*SignIn, error) {
			recs, err := tx.RecentLogins(ctx, m.ID, store.LoginQuery{Protocol: protocol, Results: []string{store.LoginSuccess}, Limit: 1})
			if err != nil || len(recs) == 0 {
				return nil, err
			}
			v := signInView(recs[0])
			return &v, nil
		}
		if out.LastPop, err = last("pop3"); err != nil {
			return err
		}
		if out.LastImap, err = last("imap4"); err != nil {
			return err
		}
		recs, err := tx.RecentLogins(ctx, m.ID, store.LoginQuery{Results: refusedResults, Limit: RecentRefusals})
		if err != nil {
			return err
		}
		for _, r := range recs {
			out.Refusals = append(out.Refusals, signInView(r))
		}
		return nil
	})
	return out, err
}

func signInView(r store.LoginRecord) SignIn {
	// The protocol as users read it: "POP3", "IMAP4", "Authenticated SMTP".
	v := SignIn{Time: r.Time, Protocol: access.Protocol(r.Protocol).Display(), Reason: r.Reason, ClientAddress: r.RemoteAddr, TLS: r.TLS,
		ClientName: r.ClientName, ClientVersion: r.ClientVersion}
	switch r.Result {
	case store.LoginSuccess:
		v.Result = "Success"
	case store.LoginFailed:
		v.Result = "Invalid credentials"
	case store.LoginDisabled:
		v.Result = "Protocol disabled"
	case store.LoginBlocked:
		v.Result = "Blocked by security defaults"
	case store.LoginThrottled:
		v.Result = "Throttled"
	case store.LoginNoTLS:
		v.Result = "No TLS"
	default:
		v.Result = r.Result
	}
	return v
}
