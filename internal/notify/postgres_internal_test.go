package notify

import (
	"context"
	"testing"

	"github.com/gatehouse-mail/gatehouse/internal/testenv/pgtest"
)

// TestPublisherCommitsWithoutWaitingForDisk: the connection that sends
// notifications has synchronous_commit off, so that a notification sent
// before a delivery is answered does not wait for a WAL flush of its own.
func TestPublisherCommitsWithoutWaitingForDisk(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	c, err := connectPublisher(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var got string
	if err := c.QueryRow(ctx, "SHOW synchronous_commit").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "off" {
		t.Errorf("publisher's synchronous_commit: got %q; want off", got)
	}
}
