package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
)

// The shell's type names of the IMAP migration's objects.
const (
	TypeMigrationEndpoint  = "Gatehouse.MigrationEndpoint"
	TypeServerAvailability = "Gatehouse.ServerAvailability"
	TypeMigrationBatch     = "Gatehouse.MigrationBatch"
	TypeMigrationUser      = "Gatehouse.MigrationUser"
)

// The collections of the IMAP migration.
var (
	MigrationEndpoints      = Collection[wire.MigrationEndpoint]{Path: "migrationendpoints", TypeName: TypeMigrationEndpoint}
	MigrationBatches        = Collection[wire.MigrationBatch]{Path: "migrationbatches", TypeName: TypeMigrationBatch}
	MigrationUsers          = Collection[wire.MigrationUser]{Path: "migrationusers", TypeName: TypeMigrationUser}
	MigrationUserStatistics = Collection[wire.MigrationUser]{Path: "migrationuserstatistics", TypeName: TypeMigrationUser}
)

// NewMigrationEndpoint creates an IMAP migration endpoint
// (New-MigrationEndpoint -IMAP); the server tries the source first unless
// b.SkipVerification.
func (c *Client) NewMigrationEndpoint(ctx context.Context, b wire.NewMigrationEndpointBody) (wire.MigrationEndpoint, error) {
	var v wire.MigrationEndpoint
	_, err := c.do(ctx, http.MethodPost, c.url(MigrationEndpoints.Path, nil), b, &v)
	return v, err
}

// SetMigrationEndpoint changes a migration endpoint (Set-MigrationEndpoint).
func (c *Client) SetMigrationEndpoint(ctx context.Context, identity string, b wire.SetMigrationEndpointBody) (wire.MigrationEndpoint, error) {
	var v wire.MigrationEndpoint
	_, err := c.do(ctx, http.MethodPatch, c.url(MigrationEndpoints.Path+"/"+url.PathEscape(identity), nil), b, &v)
	return v, err
}

// RemoveMigrationEndpoint removes a migration endpoint no batch uses.
func (c *Client) RemoveMigrationEndpoint(ctx context.Context, identity string) error {
	_, err := c.do(ctx, http.MethodDelete, c.url(MigrationEndpoints.Path+"/"+url.PathEscape(identity), nil), nil, nil)
	return err
}

// TestMigrationServerAvailability tries an IMAP server
// (Test-MigrationServerAvailability -IMAP).
func (c *Client) TestMigrationServerAvailability(ctx context.Context, b wire.TestMigrationServerBody) (wire.ServerAvailability, error) {
	var v wire.ServerAvailability
	_, err := c.do(ctx, http.MethodPost, c.url("migrationserveravailability", nil), b, &v)
	return v, err
}

// NewMigrationBatch creates an IMAP migration batch from a CSV file
// (New-MigrationBatch).
func (c *Client) NewMigrationBatch(ctx context.Context, b wire.NewMigrationBatchBody) (wire.MigrationBatch, error) {
	var v wire.MigrationBatch
	_, err := c.do(ctx, http.MethodPost, c.url(MigrationBatches.Path, nil), b, &v)
	return v, err
}

// MigrationBatchAction is what Start-, Stop- and Complete-MigrationBatch
// ask of a batch: "start", "stop" or "complete".
type MigrationBatchAction string

// The actions of a migration batch.
const (
	StartMigrationBatch    MigrationBatchAction = "start"
	StopMigrationBatch     MigrationBatchAction = "stop"
	CompleteMigrationBatch MigrationBatchAction = "complete"
)

// MigrationBatchDo starts, stops or completes a migration batch.
func (c *Client) MigrationBatchDo(ctx context.Context, identity string, action MigrationBatchAction) error {
	_, err := c.do(ctx, http.MethodPost, c.url(MigrationBatches.Path+"/"+url.PathEscape(identity)+"/"+string(action), nil), nil, nil)
	return err
}

// RemoveMigrationBatch removes a migration batch that is not syncing.
func (c *Client) RemoveMigrationBatch(ctx context.Context, identity string) error {
	_, err := c.do(ctx, http.MethodDelete, c.url(MigrationBatches.Path+"/"+url.PathEscape(identity), nil), nil, nil)
	return err
}
