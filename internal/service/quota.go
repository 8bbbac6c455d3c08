package service

import (
	"context"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-mail/gatehouse/internal/rbac"
	"github.com/gatehouse-mail/gatehouse/internal/store"
)

// Storage quotas are Exchange's ByteQuantifiedSize values: given as "2GB",
// "1.8 GB", "500MB", "2 GB (2,147,483,648 bytes)", a number of bytes, or
// "Unlimited", and shown as "2 GB (2,147,483,648 bytes)" or "Unlimited".

// MaxQuota is the largest quota Exchange accepts (1.999999999 TB).
const MaxQuota = 2199023254528

// UnlimitedQuota is how an absent limit is written.
const UnlimitedQuota = "Unlimited"

var sizeUnits = []struct {
	name string
	mult int64
}{
	{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1},
}

var (
	quotaWithBytes = regexp.MustCompile(`(?i)^[0-9.]+\s*[KMGT]?B\s*\(([0-9,]+)\s*bytes\)$`)
	quotaNumber    = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?B)?$`)
)

// ParseQuota reads a quota as Set-Mailbox takes it; 0 is Unlimited. param
// names the parameter in the error.
func ParseQuota(param, v string) (int64, error) {
	s := strings.TrimSpace(v)
	if strings.EqualFold(s, UnlimitedQuota) {
		return 0, nil
	}
	bad := func() error {
		return invalid(param, "Cannot bind parameter '%s'. Cannot convert value \"%s\" to type ByteQuantifiedSize: give a size such as 2GB, 1.8GB or 500MB, a number of bytes, or Unlimited.", param, v)
	}
	var n int64
	if m := quotaWithBytes.FindStringSubmatch(strings.ToUpper(s)); m != nil {
		b, err := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
		if err != nil {
			return 0, bad()
		}
		n = b
	} else if m := quotaNumber.FindStringSubmatch(strings.ToUpper(s)); m != nil {
		r, ok := new(big.Rat).SetString(m[1])
		if !ok {
			return 0, bad()
		}
		mult := int64(1)
		for _, u := range sizeUnits {
			if u.name == m[2] {
				mult = u.mult
			}
		}
		r.Mul(r, new(big.Rat).SetInt64(mult))
		// Whole bytes, rounded down, as Exchange does (1.8GB is
		// 1,932,735,283 bytes).
		q := new(big.Int).Quo(r.Num(), r.Denom())
		if !q.IsInt64() || q.Int64() > MaxQuota {
			return 0, invalid(param, "The value of %s must be Unlimited or at most %s.", param, FormatSize(MaxQuota))
		}
		n = q.Int64()
	} else {
		return 0, bad()
	}
	if n <= 0 {
		return 0, invalid(param, "The value of %s must be greater than 0 bytes, or Unlimited.", param)
	}
	if n > MaxQuota {
		return 0, invalid(param, "The value of %s must be Unlimited or at most %s.", param, FormatSize(MaxQuota))
	}
	return n, nil
}

// FormatSize writes a size as Exchange shows it: the value in the largest
// unit it reaches, with up to three decimals, then the exact byte count
// ("1.8 GB (1,932,735,283 bytes)", "0 B (0 bytes)").
func FormatSize(n int64) string {
	unit := sizeUnits[len(sizeUnits)-1]
	for _, u := range sizeUnits {
		if n >= u.mult {
			unit = u
			break
		}
	}
	v := strconv.FormatFloat(float64(n)/float64(unit.mult), 'f', 3, 64)
	v = strings.TrimRight(strings.TrimRight(v, "0"), ".")
	return fmt.Sprintf("%s %s (%s bytes)", v, unit.name, groupThousands(n))
}

// FormatQuota is FormatSize, or Unlimited for 0.
func FormatQuota(n int64) string {
	if n <= 0 {
		return UnlimitedQuota
	}
	return FormatSize(n)
}

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkQuotaOrder applies Exchange's rule that IssueWarningQuota <=
// ProhibitSendQuota <= ProhibitSendReceiveQuota, between the limits that
// are set: an Unlimited one is not compared, so that a mailbox may have
// only a ProhibitSendReceiveQuota (the one Gatehouse enforces).
func checkQuotaOrder(q store.MailboxQuota) error {
	pairs := []struct {
		lowName, highName string
		low, high         int64
	}{
		{"IssueWarningQuota", "ProhibitSendQuota", q.IssueWarning, q.ProhibitSend},
		{"ProhibitSendQuota", "ProhibitSendReceiveQuota", q.ProhibitSend, q.ProhibitSendReceive},
		{"IssueWarningQuota", "ProhibitSendReceiveQuota", q.IssueWarning, q.ProhibitSendReceive},
	}
	for _, p := range pairs {
		if p.low > 0 && p.high > 0 && p.low > p.high {
			return invalid(p.lowName, "The value of property '%s' must be less than or equal to that of property '%s'. %s: '%s', %s: '%s'.",
				p.lowName, p.highName, p.lowName, FormatQuota(p.low), p.highName, FormatQuota(p.high))
		}
	}
	return nil
}

// setQuotas applies the quota parameters of Set-Mailbox to m.Quota and
// returns the audited changes.
func setQuotas(m *store.Mailbox, r SetMailboxRequest) ([]store.PropertyChange, error) {
	q := m.Quota
	var changes []store.PropertyChange
	for _, f := range []struct {
		name string
		v    *string
		dst  *int64
	}{
		{"IssueWarningQuota", r.IssueWarningQuota, &q.IssueWarning},
		{"ProhibitSendQuota", r.ProhibitSendQuota, &q.ProhibitSend},
		{"ProhibitSendReceiveQuota", r.ProhibitSendReceiveQuota, &q.ProhibitSendReceive},
	} {
		if f.v == nil {
			continue
		}
		n, err := ParseQuota(f.name, *f.v)
		if err != nil {
			return nil, err
		}
		if n != *f.dst {
			changes = append(changes, store.PropertyChange{Name: f.name, OldValue: FormatQuota(*f.dst), NewValue: FormatQuota(n)})
			*f.dst = n
		}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	if err := checkQuotaOrder(q); err != nil {
		return nil, err
	}
	m.Quota = q
	return changes, nil
}

// The values of StorageLimitStatus (Get-MailboxStatistics).
const (
	StorageBelowLimit      = "BelowLimit"
	StorageIssueWarning    = "IssueWarning"
	StorageProhibitSend    = "ProhibitSend"
	StorageMailboxDisabled = "MailboxDisabled"
)

// storageLimitStatus says which limit a mailbox of the given size has
// reached. MailboxDisabled is Exchange's name for "can neither send nor
// receive": Gatehouse refuses every message that would take it beyond
// ProhibitSendReceiveQuota.
func storageLimitStatus(size int64, q store.MailboxQuota) string {
	switch {
	case q.ProhibitSendReceive > 0 && size >= q.ProhibitSendReceive:
		return StorageMailboxDisabled
	case q.ProhibitSend > 0 && size >= q.ProhibitSend:
		return StorageProhibitSend
	case q.IssueWarning > 0 && size >= q.IssueWarning:
		return StorageIssueWarning
	}
	return StorageBelowLimit
}

// MailboxStatistics is what Get-MailboxStatistics shows.
type MailboxStatistics struct {
	Identity           string
	DisplayName        string
	ItemCount          int64
	TotalItemSize      string // "1.462 MB (1,533,190 bytes)"
	TotalItemSizeBytes int64
	StorageLimitStatus string
	// The mailbox's limits, as Get-Mailbox shows them, and in bytes (0:
	// Unlimited) for the surfaces that compute with them.
	IssueWarningQuota             string
	ProhibitSendQuota             string
	ProhibitSendReceiveQuota      string
	ProhibitSendReceiveQuotaBytes int64
}

// GetMailboxStatistics is Get-MailboxStatistics: the size and item count
// of a mailbox (all its folders) and which of its limits it has reached.
func (s *Service) GetMailboxStatistics(ctx context.Context, c Caller, identity string) (MailboxStatistics, error) {
	var m store.Mailbox
	if err := s.read(ctx, c, "Get-MailboxStatistics", rbac.ViewRecipients, func(tx store.Tx) error {
		var err error
		m, err = s.resolve(ctx, tx, identity)
		return err
	}); err != nil {
		return MailboxStatistics{}, err
	}
	u, err := s.st.MailboxUsage(ctx, m.ID)
	if err != nil {
		return MailboxStatistics{}, err
	}
	return MailboxStatistics{
		Identity: m.Name, DisplayName: m.DisplayName, ItemCount: u.Messages,
		TotalItemSize: FormatSize(u.Size), TotalItemSizeBytes: u.Size,
		StorageLimitStatus:            storageLimitStatus(u.Size, u.Quota),
		IssueWarningQuota:             FormatQuota(u.Quota.IssueWarning),
		ProhibitSendQuota:             FormatQuota(u.Quota.ProhibitSend),
		ProhibitSendReceiveQuota:      FormatQuota(u.Quota.ProhibitSendReceive),
		ProhibitSendReceiveQuotaBytes: u.Quota.ProhibitSendReceive,
	}, nil
}
