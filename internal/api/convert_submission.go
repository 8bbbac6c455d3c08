package api

import (
	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

// The conversions of SMTP submission: authenticated SMTP and the
// outbound queue.

func transportConfigWire(t service.TransportConfig) wire.TransportConfig {
	return wire.TransportConfig(t)
}

func queueWire(q service.Queue) wire.Queue { return wire.Queue(q) }

func queueMessageWire(m service.QueueMessage) wire.QueueMessage { return wire.QueueMessage(m) }

// nullableBoolService is a nullable property of a change body as the
// service takes it.
func nullableBoolService(n wire.NullableBool) service.NullableBool {
	return service.NullableBool{Set: n.Set, Value: n.Value}
}
