package service_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// TestCheckPassword pins the password policy (Exchange Online's: 8 to 256
// characters, 3 of 4 kinds) and its one message.
func TestCheckPassword(t *testing.T) {
	tests := []struct {
		password string
		ok       bool
	}{
		{"abcdefgh", false},         // the example: one kind
		{"abcdefg1", false},         // two kinds
		{"ABCDEFG-", false},         // two kinds
		{"Abcdef1", false},          // three kinds, 7 characters
		{"Abcdefg1", true},          // upper, lower, digit
		{"abcdefg-1", true},         // lower, digit, symbol
		{"ABCD efg!", true},         // upper, lower, symbol (space and !)
		{"ÄÖÜäöüß1", true},          // upper, lower, digit beyond ASCII
		{"Contoso-Demo-2026", true}, // the demo password
		{"Admin-Test-Password-1", true},
		{"Abc\tdefg1", false}, // a control character
		{"Ab1" + strings.Repeat("x", 253), true},
		{"Ab1" + strings.Repeat("x", 254), false}, // 257 characters
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.password, func(t *testing.T) {
			err := service.CheckPassword(tt.password)
			if (err == nil) != tt.ok {
				t.Fatalf("got %v; want ok=%v", err, tt.ok)
			}
			var ve *service.ValidationError
			if err != nil && (!errors.As(err, &ve) || ve.Parameter != "Password") {
				t.Errorf("got %T %v; want a ValidationError of Password", err, err)
			}
			if err != nil && !strings.Contains(tt.password, "\t") && err.Error() != service.PasswordPolicyText {
				t.Errorf("got %q; want the policy text", err)
			}
		})
	}
}
