package api

import (
	"github.com/gatehouse-mail/gatehouse/internal/api/wire"
	"github.com/gatehouse-mail/gatehouse/internal/service"
)

func authPolicyWire(p service.AuthenticationPolicy) wire.AuthenticationPolicy {
	return wire.AuthenticationPolicy(p)
}

func userWire(u service.User) wire.User { return wire.User(u) }
