// Package events publishes domain events.
package events

import (
	_ "example.com/crm/platform/store"
	_ "example.com/crm/proto/alpha/v1"
	_ "example.com/crm/services/alpha/internal/domain"
	_ "example.com/crm/services/alpha/internal/protoconv"
	_ "github.com/nats-io/nats.go"
)
