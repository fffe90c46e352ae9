// Package alpha is the composition root: it may wire every layer.
package alpha

import (
	_ "example.com/crm/platform/store"
	_ "example.com/crm/services/alpha/internal/adapters/events"
	_ "example.com/crm/services/alpha/internal/adapters/sqlstore"
	_ "example.com/crm/services/alpha/internal/app"
	_ "example.com/crm/services/alpha/internal/model"
	_ "example.com/crm/services/alpha/internal/ports/grpc"
	_ "example.com/crm/services/alpha/migrations"
	_ "example.com/crm/services/beta/internal/domain" // want ruleOtherService
)
