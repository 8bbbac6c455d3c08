package pop3adapter

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/access"
	"github.com/gatehouse-mail/gatehouse/internal/backend"
	"github.com/gatehouse-mail/gatehouse/internal/pop3"
)

func TestLoginError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{backend.ErrInvalidCredentials, "[AUTH] Invalid credentials"},
		{fmt.Errorf("login x: %w", backend.ErrInvalidCredentials), "[AUTH] Invalid credentials"},
		{&access.Denied{Protocol: access.POP3, Reason: access.Disabled}, "[SYS/PERM] POP3 access is disabled for this mailbox. Contact your administrator."},
		{&access.Denied{Protocol: access.POP3, Reason: access.SecurityDefaults}, "[SYS/PERM] POP3 is blocked by your organization's security defaults. Contact your administrator."},
		{&backend.ThrottledError{RetryAfter: 1500 * time.Millisecond}, "[SYS/TEMP] Too many failed login attempts; try again in 2 seconds"},
		{&backend.ThrottledError{}, "[SYS/TEMP] Too many failed login attempts; try again in 1 seconds"},
		{&pop3.Error{Code: pop3.CodeInUse, Text: "busy"}, "[IN-USE] busy"},
		{errors.New("disk full"), "[SYS/TEMP] Cannot log in now; try again later"},
	}
	for _, tt := range tests {
		var pe *pop3.Error
		if !errors.As(loginError(tt.err), &pe) {
			t.Errorf("loginError(%v) is not a *pop3.Error", tt.err)
			continue
		}
		if got := "[" + pe.Code + "] " + pe.Text; got != tt.want {
			t.Errorf("loginError(%v) = %q; want %q", tt.err, got, tt.want)
		}
	}
}
