package service

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-mail/gatehouse/internal/auth"
)

// The password policy, as Exchange Online's (Microsoft Entra ID's) for
// cloud accounts: 8 to 256 characters, with characters of at least three
// of four kinds (uppercase letters, lowercase letters, digits, symbols).
// It is checked here, once, for every surface: New-Mailbox and
// Set-Mailbox -Password through the shell, the REST API and the admin
// center; the server's first administrator and the demo mailboxes use
// CheckPassword too.
const (
	// MinPasswordLength is the shortest password accepted.
	MinPasswordLength = 8
	// MaxPasswordLength is the longest password accepted.
	MaxPasswordLength = 256
	// PasswordKinds is how many of the four kinds of characters a password
	// must mix.
	PasswordKinds = 3
)

// PasswordPolicyText is the one message a password that breaks the policy
// gets, on every surface.
const PasswordPolicyText = "The password does not comply with the password policy requirements: use 8 to 256 characters, " +
	"with at least 3 of these 4 kinds: uppercase letters, lowercase letters, digits and symbols."

// CheckPassword reports whether a new password satisfies the policy; the
// error is a *ValidationError of the Password parameter.
func CheckPassword(p string) error {
	// The policy applies to the password as it is stored: prepared as the
	// SASL mechanisms require (auth.PreparePassword: U+00A0 is a space, "é"
	// one character however it was typed).
	if !utf8.ValidString(p) {
		return invalid("Password", PasswordPolicyText)
	}
	prepared, err := auth.PreparePassword(p)
	if err != nil {
		switch {
		case strings.IndexFunc(p, unicode.IsControl) >= 0:
			return invalid("Password", "The password can't contain control characters such as a tab or a line break.")
		case strings.TrimSpace(p) == "" || len(p) < MinPasswordLength:
			return invalid("Password", PasswordPolicyText)
		}
		return invalid("Password", "The password can't contain characters that Unicode doesn't assign or that can't be typed the same way everywhere (RFC 8265).")
	}
	p = prepared
	n := utf8.RuneCountInString(p)
	if n < MinPasswordLength || n > MaxPasswordLength || !utf8.ValidString(p) {
		return invalid("Password", PasswordPolicyText)
	}
	var upper, lower, digit, symbol bool
	for _, r := range p {
		switch {
		case unicode.IsControl(r):
			// A control character cannot be typed in most clients and
			// cannot cross an IMAP4 LOGIN or a POP3 PASS line.
			return invalid("Password", "The password can't contain control characters such as a tab or a line break.")
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		default:
			// Punctuation, spaces, and letters without case count as
			// symbols, as in Active Directory's complexity rule.
			symbol = true
		}
	}
	kinds := 0
	for _, b := range []bool{upper, lower, digit, symbol} {
		if b {
			kinds++
		}
	}
	if kinds < PasswordKinds {
		return invalid("Password", PasswordPolicyText)
	}
	return nil
}
