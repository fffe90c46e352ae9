// Package protoconv converts between proto and domain types.
package protoconv

import (
	_ "example.com/crm/proto/alpha/v1"
	_ "example.com/crm/services/alpha/internal/app" // want ruleProtoconvLayer
	_ "example.com/crm/services/alpha/internal/domain"
	_ "google.golang.org/protobuf/types/known/timestamppb"
)
