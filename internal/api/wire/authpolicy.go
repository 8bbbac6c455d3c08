package wire

import "time"

// AuthenticationPolicy is what Get-AuthenticationPolicy shows (GET
// /api/v1/authenticationpolicies): for which protocols the policy allows
// basic (password) authentication.
type AuthenticationPolicy struct {
	Identity           string
	Name               string
	AllowBasicAuthPop  bool
	AllowBasicAuthImap bool
	AllowBasicAuthSmtp bool
	WhenCreated        time.Time
	WhenChanged        time.Time
}

// User is what GET /api/v1/users/{identity} answers: the properties
// Gatehouse keeps on a mailbox's user rather than on the mailbox.
type User struct {
	Identity          string
	Name              string
	DisplayName       string
	UserPrincipalName string
	// AuthenticationPolicy is the user's own policy ("" for none: the
	// organization's default applies).
	AuthenticationPolicy string
}

// NewAuthPolicyBody is the body of POST /api/v1/authenticationpolicies. A
// switch left out is false: as in Exchange, a new policy blocks basic
// authentication for every protocol it does not allow.
type NewAuthPolicyBody struct {
	Name               string
	AllowBasicAuthPop  bool
	AllowBasicAuthImap bool
	AllowBasicAuthSmtp bool
}

// SetAuthPolicyBody is the body of PATCH
// /api/v1/authenticationpolicies/{name}.
type SetAuthPolicyBody struct {
	AllowBasicAuthPop  *bool `json:",omitempty"`
	AllowBasicAuthImap *bool `json:",omitempty"`
	AllowBasicAuthSmtp *bool `json:",omitempty"`
}

// SetUserBody is the body of PATCH /api/v1/users/{identity}.
type SetUserBody struct {
	// AuthenticationPolicy names a policy; "" removes the user's own
	// ($null: the organization's default applies).
	AuthenticationPolicy *string `json:",omitempty"`
}
