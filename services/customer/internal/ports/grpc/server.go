// Package grpc serves the customer service's gRPC API: it converts between
// proto and domain types, validates what only the transport knows (ids,
// masks, page tokens), and maps domain errors to status codes.
package grpc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/internal/app"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
	"github.com/guanxi-crm/guanxi/services/customer/internal/protoconv"
)

// IdempotencyKeyMetadata is the incoming metadata key that carries the
// request id when the message does not; the REST gateway forwards the
// Idempotency-Key header under it.
const IdempotencyKeyMetadata = "idempotency-key"

// Customers is what the server needs from the use cases.
type Customers interface {
	CreateCustomer(ctx context.Context, cmd app.CreateCustomer) (domain.Customer, error)
	GetCustomer(ctx context.Context, id string) (domain.Customer, error)
	ListCustomers(ctx context.Context, q app.ListCustomers) (app.CustomerPage, error)
	UpdateCustomer(ctx context.Context, cmd app.UpdateCustomer) (domain.Customer, error)
}

// Server implements customerv1.CustomerServiceServer.
type Server struct {
	customerv1.UnimplementedCustomerServiceServer
	customers Customers
}

// NewServer returns a Server running the use cases of customers.
func NewServer(customers Customers) *Server {
	return &Server{customers: customers}
}

// CreateCustomer implements customerv1.CustomerServiceServer.
func (s *Server) CreateCustomer(ctx context.Context, req *customerv1.CreateCustomerRequest) (*customerv1.CreateCustomerResponse, error) {
	if req.GetCustomer() == nil {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "customer", Description: "is required"})
	}
	p, err := toDomainProfile(req.GetCustomer())
	if err != nil {
		return nil, err
	}
	requestID := req.GetRequestId()
	if requestID == "" {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get(IdempotencyKeyMetadata); len(v) > 0 {
				requestID = v[0]
			}
		}
	}
	c, err := s.customers.CreateCustomer(ctx, app.CreateCustomer{Profile: p, RequestID: requestID})
	if err != nil {
		return nil, toStatus(err)
	}
	return &customerv1.CreateCustomerResponse{Customer: protoconv.ToProtoCustomer(c)}, nil
}

// GetCustomer implements customerv1.CustomerServiceServer.
func (s *Server) GetCustomer(ctx context.Context, req *customerv1.GetCustomerRequest) (*customerv1.GetCustomerResponse, error) {
	if err := checkID("id", req.GetId()); err != nil {
		return nil, err
	}
	c, err := s.customers.GetCustomer(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &customerv1.GetCustomerResponse{Customer: protoconv.ToProtoCustomer(c)}, nil
}

// ListCustomers implements customerv1.CustomerServiceServer.
func (s *Server) ListCustomers(ctx context.Context, req *customerv1.ListCustomersRequest) (*customerv1.ListCustomersResponse, error) {
	if req.GetPageSize() < 0 {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "page_size", Description: "must not be negative"})
	}
	after, err := decodePageToken(req.GetPageToken())
	if err != nil {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "page_token", Description: "is not a token this service issued"})
	}
	page, err := s.customers.ListCustomers(ctx, app.ListCustomers{PageSize: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &customerv1.ListCustomersResponse{Customers: make([]*customerv1.Customer, len(page.Customers))}
	for i, c := range page.Customers {
		resp.Customers[i] = protoconv.ToProtoCustomer(c)
	}
	if page.Next != nil {
		resp.NextPageToken = encodePageToken(*page.Next)
	}
	return resp, nil
}

// UpdateCustomer implements customerv1.CustomerServiceServer.
func (s *Server) UpdateCustomer(ctx context.Context, req *customerv1.UpdateCustomerRequest) (*customerv1.UpdateCustomerResponse, error) {
	pc := req.GetCustomer()
	if pc == nil {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "customer", Description: "is required"})
	}
	if err := checkID("customer.id", pc.GetId()); err != nil {
		return nil, err
	}
	fields, err := toDomainFields(req.GetUpdateMask().GetPaths(), pc)
	if err != nil {
		return nil, err
	}
	p, err := toDomainProfile(pc)
	if err != nil {
		return nil, err
	}
	c, err := s.customers.UpdateCustomer(ctx, app.UpdateCustomer{
		ID: pc.GetId(), Etag: pc.GetEtag(), Profile: p, Fields: fields,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &customerv1.UpdateCustomerResponse{Customer: protoconv.ToProtoCustomer(c)}, nil
}

// checkID refuses ids that are not UUIDs, so a typo reads as bad input
// rather than as a missing customer.
func checkID(field, id string) error {
	if id == "" {
		return rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: field, Description: "is required"})
	}
	if _, err := uuid.Parse(id); err != nil {
		return rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: field, Description: "is not a valid customer id (UUID)"})
	}
	return nil
}

// toDomainFields turns update mask paths into domain fields. An empty mask
// means every field set (non-zero) in c, as proto3 cannot tell an unset
// scalar from a zero one; "*" means every field, for full replacement
// (AIP-134).
func toDomainFields(paths []string, c *customerv1.Customer) ([]domain.Field, error) {
	if len(paths) == 0 {
		var fields []domain.Field
		for _, f := range domain.Fields() {
			if isSet(f, c) {
				fields = append(fields, f)
			}
		}
		return fields, nil
	}
	var fields []domain.Field
	for _, p := range paths {
		p = snakeCase(strings.TrimSpace(p))
		switch p {
		case "*":
			return domain.Fields(), nil
		case "id", "etag":
			// Identity and the concurrency token travel in the body, and the
			// REST edge puts every body field in the mask; neither is ever
			// updated.
			continue
		}
		f, ok := domain.ParseField(p)
		if !ok {
			return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{
				Field:       "update_mask",
				Description: fmt.Sprintf("unknown or read-only field %q", p),
			})
		}
		fields = append(fields, f)
	}
	return fields, nil
}

// snakeCase turns a JSON (lowerCamelCase) mask path such as "displayName",
// which REST clients send in ?updateMask=, into the proto name.
func snakeCase(path string) string {
	var b strings.Builder
	for _, r := range path {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isSet(f domain.Field, c *customerv1.Customer) bool {
	switch f {
	case domain.FieldType:
		return c.GetType() != customerv1.CustomerType_CUSTOMER_TYPE_UNSPECIFIED
	case domain.FieldDisplayName:
		return c.GetDisplayName() != ""
	case domain.FieldEmail:
		return c.GetEmail() != ""
	case domain.FieldPhone:
		return c.GetPhone() != ""
	case domain.FieldLocale:
		return c.GetLocale() != ""
	case domain.FieldTimeZone:
		return c.GetTimeZone() != ""
	case domain.FieldTags:
		return len(c.GetTags()) > 0
	}
	return false
}

func toDomainProfile(c *customerv1.Customer) (domain.Profile, error) {
	t, err := toDomainType(c.GetType())
	if err != nil {
		return domain.Profile{}, err
	}
	return domain.Profile{
		Type:        t,
		DisplayName: c.GetDisplayName(),
		Email:       c.GetEmail(),
		Phone:       c.GetPhone(),
		Locale:      c.GetLocale(),
		TimeZone:    c.GetTimeZone(),
		Tags:        c.GetTags(),
	}, nil
}

func toDomainType(t customerv1.CustomerType) (domain.CustomerType, error) {
	switch t {
	case customerv1.CustomerType_CUSTOMER_TYPE_UNSPECIFIED:
		return domain.TypeUnspecified, nil
	case customerv1.CustomerType_CUSTOMER_TYPE_PERSON:
		return domain.TypePerson, nil
	case customerv1.CustomerType_CUSTOMER_TYPE_ORGANIZATION:
		return domain.TypeOrganization, nil
	}
	return 0, rpcerr.InvalidArgument(rpcerr.FieldViolation{
		Field: "customer.type", Description: fmt.Sprintf("unknown customer type %d", int32(t)),
	})
}

// A page token is the keyset cursor "<create time micros>:<id>" in
// unpadded base64url. The inside is private to this service and may change;
// clients only pass it back.

func encodePageToken(c domain.Cursor) string {
	raw := strconv.FormatInt(c.CreateTime.UnixMicro(), 10) + ":" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodePageToken(s string) (*domain.Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode page token: %w", err)
	}
	micros, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return nil, errors.New("decode page token: no separator")
	}
	t, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("decode page token: %w", err)
	}
	if _, err := uuid.Parse(id); err != nil {
		return nil, fmt.Errorf("decode page token: %w", err)
	}
	return &domain.Cursor{CreateTime: time.UnixMicro(t).UTC(), ID: id}, nil
}

// toStatus maps domain errors to gRPC statuses. Anything unmapped is
// returned as is, so the platform's safety net logs it and answers Internal.
func toStatus(err error) error {
	var nf *domain.NotFoundError
	var ve *validation.Error
	switch {
	case errors.As(err, &nf):
		return status.Error(codes.NotFound, nf.Error())
	case errors.As(err, &ve):
		return rpcerr.InvalidArgument(requestViolations(ve.Violations)...)
	case errors.Is(err, domain.ErrStale):
		return status.Error(codes.Aborted, domain.ErrStale.Error())
	}
	return err
}

// requestViolations puts domain fields at their path in the request:
// profile fields live under "customer.", request-level ones do not.
func requestViolations(vs validation.Violations) validation.Violations {
	out := make(validation.Violations, len(vs))
	for i, v := range vs {
		switch v.Field {
		case "request_id", "page_size", "page_token":
		default:
			v.Field = "customer." + v.Field
		}
		out[i] = v
	}
	return out
}
