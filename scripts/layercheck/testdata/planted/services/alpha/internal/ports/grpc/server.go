// Package grpc is the gRPC port.
package grpc

import (
	_ "example.com/crm/proto/alpha/v1"
	_ "example.com/crm/services/alpha/internal/adapters/events" // want rulePortAdapter
	_ "example.com/crm/services/alpha/internal/app"
	_ "example.com/crm/services/alpha/internal/domain"
	_ "example.com/crm/services/alpha/internal/ports/events" // want rulePortPort
	_ "example.com/crm/services/alpha/internal/protoconv"
	_ "google.golang.org/grpc"
)
