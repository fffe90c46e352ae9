// Package app holds the use cases.
package app

import (
	_ "example.com/crm/platform/pure"
	_ "example.com/crm/platform/store"                            // app may use the platform
	_ "example.com/crm/proto/alpha/v1"                            // want ruleAppLibrary
	_ "example.com/crm/services/alpha/internal/adapters/sqlstore" // want ruleAppLayer
	_ "example.com/crm/services/alpha/internal/app/internal/clock"
	_ "example.com/crm/services/alpha/internal/domain"
	_ "example.com/crm/services/alpha/internal/domain/money"
	_ "example.com/crm/services/alpha/internal/model"        // want ruleUnknownLayer
	_ "example.com/crm/services/alpha/internal/ports/events" // want ruleAppLayer
	_ "example.com/crm/services/alpha/internal/protoconv"    // want ruleAppLayer
	_ "github.com/google/uuid"
	_ "golang.org/x/sync/errgroup"
	_ "net/http/httptest" // want ruleAppLibrary
)
