package api

import (
	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// The IMAP migration's conversions to package wire.

func migrationEndpointWire(e service.MigrationEndpoint) wire.MigrationEndpoint {
	return wire.MigrationEndpoint(e)
}

func serverAvailabilityWire(a service.ServerAvailability) wire.ServerAvailability {
	return wire.ServerAvailability(a)
}

func migrationBatchWire(b service.MigrationBatch) wire.MigrationBatch { return wire.MigrationBatch(b) }

func migrationUserWire(u service.MigrationUser) wire.MigrationUser {
	return wire.MigrationUser{Identity: u.Identity, BatchId: u.BatchId, Status: u.Status, UserName: u.UserName,
		TotalItemsInSourceMailboxCount: u.TotalItemsInSourceMailboxCount, ItemsSynced: u.ItemsSynced, ItemsSkipped: u.ItemsSkipped,
		BytesTransferred: u.BytesTransferred, LastSuccessfulSyncTimestamp: u.LastSuccessfulSyncTimestamp, ErrorSummary: u.ErrorSummary,
		SkippedItems: wireSlice(u.SkippedItems, func(s service.MigrationSkippedItem) wire.MigrationSkippedItem { return wire.MigrationSkippedItem(s) }),
		Folders:      wireSlice(u.Folders, func(f service.MigrationFolder) wire.MigrationFolder { return wire.MigrationFolder(f) })}
}
