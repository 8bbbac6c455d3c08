package backend

import (
	"context"
	"errors"

	"github.com/gatehouse-mail/gatehouse/internal/sasl"
)

// MechanismSource is what a protocol adapter's login flow may offer
// beyond passwords: its SASL mechanisms and SCRAM parameters (*Logins
// does, and the adapters' LoginFlow through it).
type MechanismSource interface {
	Mechanisms() []string
	SCRAMParams(ctx context.Context, username string) ([]byte, int, error)
}

var _ MechanismSource = (*Logins)(nil)

// MechanismsOf lists the SASL mechanisms of an adapter's authenticator:
// its own when it is a MechanismSource, else PLAIN and LOGIN.
func MechanismsOf(authenticator any) []string {
	if m, ok := authenticator.(MechanismSource); ok {
		return m.Mechanisms()
	}
	return []string{sasl.Plain, sasl.Login}
}

// SCRAMParamsOf returns a user's SCRAM salt and iteration count from an
// adapter's authenticator, or an error when it offers no SCRAM.
func SCRAMParamsOf(ctx context.Context, authenticator any, username string) ([]byte, int, error) {
	if m, ok := authenticator.(MechanismSource); ok {
		return m.SCRAMParams(ctx, username)
	}
	return nil, 0, errors.New("SCRAM is not offered")
}
