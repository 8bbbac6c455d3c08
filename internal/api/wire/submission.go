package wire

import (
	"encoding/json"
	"time"
)

// The JSON contract of SMTP submission: authenticated SMTP
// (Set-CASMailbox -SmtpClientAuthenticationDisabled, Get-/Set-
// TransportConfig) and the outbound queue (Get-Queue, Get-Message,
// Retry-Queue, Remove-Message).

// NullableBool is a property that may be true, false or null, or left
// out (Set false), as Exchange's System.Nullable[System.Boolean]
// parameters: in a change body, null means "follow the organization" and
// a property left out keeps the value. Tag it `json:",omitzero"` so that
// a property not set is left out.
type NullableBool struct {
	Set   bool
	Value *bool // nil: null
}

// UnmarshalJSON takes true, false or null and marks the value given.
func (n *NullableBool) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = NullableBool{Set: true}
		return nil
	}
	var v bool
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*n = NullableBool{Set: true, Value: &v}
	return nil
}

// MarshalJSON writes true, false or null.
func (n NullableBool) MarshalJSON() ([]byte, error) {
	if n.Value == nil {
		return []byte("null"), nil
	}
	return json.Marshal(*n.Value)
}

// IsZero reports a value not set, which omitzero leaves out.
func (n NullableBool) IsZero() bool { return !n.Set }

// TransportConfig is what Get-TransportConfig shows (GET
// /api/v1/transportconfig).
type TransportConfig struct {
	Identity string
	// SmtpClientAuthenticationDisabled turns authenticated SMTP off for
	// every mailbox whose own value is null.
	SmtpClientAuthenticationDisabled bool
	WhenChanged                      time.Time
}

// SetTransportConfigBody is the body of PATCH /api/v1/transportconfig.
type SetTransportConfigBody struct {
	SmtpClientAuthenticationDisabled *bool `json:",omitempty"`
}

// Queue is what Get-Queue shows (GET /api/v1/queues).
type Queue struct {
	Identity      string
	DeliveryType  string
	NextHopDomain string
	// Status: Active while a message is being sent, Retry when the last
	// attempt failed for the oldest message, Ready otherwise.
	Status        string
	MessageCount  int
	LastError     string
	NextRetryTime *time.Time
}

// QueueMessage is what Get-Message shows (GET /api/v1/queuemessages).
type QueueMessage struct {
	Identity       string
	Queue          string
	Status         string
	Size           int64
	FromAddress    string
	Recipients     []string
	LastError      string
	RetryCount     int
	DateReceived   time.Time
	NextRetryTime  *time.Time
	ExpirationTime time.Time
}
