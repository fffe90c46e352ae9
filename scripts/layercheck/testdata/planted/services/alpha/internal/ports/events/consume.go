// Package events consumes other services' events.
package events

import (
	_ "example.com/crm/services/alpha/internal/app"
	_ "example.com/crm/services/alpha/internal/protoconv"
	_ "github.com/nats-io/nats.go/jetstream"
)
