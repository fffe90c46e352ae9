// Package domain holds the rules.
package domain

import (
	"context"
	"strings"

	_ "database/sql/driver" // want ruleDomainLibrary
	_ "example.com/crm/platform/pure"
	_ "example.com/crm/platform/wrap"                             // want ruleDomainLibrary
	_ "example.com/crm/proto/alpha/v1"                            // want ruleDomainLibrary
	_ "example.com/crm/services/alpha/internal/adapters/sqlstore" // want ruleDomainLayer
	_ "example.com/crm/services/alpha/internal/app"               // want ruleDomainLayer
	_ "example.com/crm/services/alpha/internal/domain/money"
	_ "example.com/crm/services/alpha/internal/model"      // want ruleUnknownLayer
	_ "example.com/crm/services/alpha/internal/ports/grpc" // want ruleDomainLayer
	_ "example.com/crm/services/alpha/internal/protoconv"  // want ruleDomainLayer
	_ "example.com/crm/services/alpha/migrations"          // want ruleDomainLayer
	_ "github.com/google/uuid"
	_ "github.com/jackc/pgx/v5"          // want ruleDomainLibrary
	_ "github.com/nats-io/nats.go"       // want ruleDomainLibrary
	_ "github.com/redis/go-redis/v9"     // want ruleDomainLibrary
	_ "google.golang.org/grpc/codes"     // want ruleDomainLibrary
	_ "google.golang.org/protobuf/proto" // want ruleDomainLibrary
	_ "net/http"                         // want ruleDomainLibrary
	_ "net/mail"
)

var _ = context.Background
var _ = strings.ToUpper
