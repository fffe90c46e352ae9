package domain_test

import (
	_ "example.com/crm/services/alpha/internal/adapters/sqlstore"
	_ "example.com/crm/services/alpha/internal/app"
	_ "example.com/crm/services/beta/internal/domain" // want ruleOtherService
	_ "google.golang.org/grpc"
)
