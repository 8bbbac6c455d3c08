package auth

import (
	"fmt"

	"golang.org/x/text/secure/precis"
)

// PreparePassword prepares a password as the SASL mechanisms require:
// PLAIN (RFC 4616 §2) and SCRAM (RFC 5802 §2.2) ask for SASLprep (RFC 4013),
// whose successor is the PRECIS OpaqueString profile (RFC 8265 §4.2, which
// RFC 8265 §1 applies to SASL): non-ASCII spaces (U+00A0 and the other Zs)
// become U+0020, and the string is put in Normalization Form C, so that a
// composed and a decomposed "é" are one password. The same preparation at
// every password set and every check makes the argon2id hash and the SCRAM
// keys agree with what any client sends. An ASCII password without control
// characters is unchanged. The error says why a password cannot be one
// (empty, or a control or unassigned character).
func PreparePassword(p string) (string, error) {
	out, err := precis.OpaqueString.String(p)
	if err != nil {
		return "", fmt.Errorf("the password can't be prepared (RFC 8265 OpaqueString): %w", err)
	}
	return out, nil
}

// PrepareUsername prepares a user name the same way (SASLprep applies to
// PLAIN's authcid and SCRAM's user name too), so that a name typed with a
// decomposed accent or a no-break space finds its mailbox. A name that
// cannot be prepared is returned as it is; it then matches nothing.
func PrepareUsername(u string) string {
	if out, err := precis.OpaqueString.String(u); err == nil {
		return out
	}
	return u
}
