// Package grpc serves the customer service's gRPC API: it converts between
// proto and domain types, validates what only the transport knows (ids,
// masks, page tokens), and maps domain errors to status codes.
package grpc

import (
	"context"
	"math"
	"slices"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc/metadata"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/fieldmask"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/customer/internal/app"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
	"github.com/guanxi-crm/guanxi/services/customer/internal/protoconv"
)

// Metadata keys the service reads. The REST gateway forwards the
// Idempotency-Key and X-Guanxi-Reason headers under them.
const (
	IdempotencyKeyMetadata = "idempotency-key"
	ReasonMetadata         = "x-guanxi-reason"
)

// Server implements customerv1.CustomerServiceServer.
type Server struct {
	customerv1.UnimplementedCustomerServiceServer
	// The areas of the use cases the RPCs call.
	customers     *app.Customers
	definitions   *app.Definitions
	relationships *app.Relationships
	ownership     *app.Ownership
	merges        *app.Merges
	imports       *app.Imports
	auditLog      *app.AuditLog
}

// NewServer returns a Server running the use cases of a.
func NewServer(a *app.Service) *Server {
	return &Server{customers: a.Customers, definitions: a.Definitions, relationships: a.Relationships,
		ownership: a.Ownership, merges: a.Merges, imports: a.Imports, auditLog: a.AuditLog}
}

// caller puts who calls (as the auth guard verified them), why (from the
// metadata) and which customers they may see into ctx for the use cases
// and the audit log.
func caller(ctx context.Context) context.Context {
	id, _ := auth.FromContext(ctx)
	c := app.Caller{Actor: id.Actor, Via: id.Via, Reason: firstMetadata(ctx, ReasonMetadata)}
	if !id.SeesAll() {
		c.Scope = domain.Scope{Limited: true, Owner: id.Subject, Teams: id.Teams}
	}
	return app.WithCaller(ctx, c)
}

func firstMetadata(ctx context.Context, key string) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(key); len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// checkID refuses ids that are not UUIDs, so a typo reads as bad input
// rather than as a missing customer.
func checkID(field, id string) error {
	if id == "" {
		return rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: field, Description: "is required"})
	}
	if _, err := uuid.Parse(id); err != nil {
		return rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: field, Description: "is not a valid id (UUID)"})
	}
	return nil
}

func required(field string) error {
	return rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: field, Description: "is required"})
}

// CreateCustomer implements customerv1.CustomerServiceServer.
func (s *Server) CreateCustomer(ctx context.Context, req *customerv1.CreateCustomerRequest) (*customerv1.CreateCustomerResponse, error) {
	ctx = caller(ctx)
	if req.GetCustomer() == nil {
		return nil, required("customer")
	}
	requestID := req.GetRequestId()
	if requestID == "" {
		requestID = firstMetadata(ctx, IdempotencyKeyMetadata)
	}
	c, err := s.customers.CreateCustomer(ctx, app.CreateCustomer{
		Profile: protoconv.ToDomainProfile(req.GetCustomer()), RequestID: requestID, AllowDuplicate: req.GetAllowDuplicate(),
	})
	if err != nil {
		return nil, toStatus(err, "customer.")
	}
	return &customerv1.CreateCustomerResponse{Customer: protoconv.ToProtoCustomer(c)}, nil
}

// GetCustomer implements customerv1.CustomerServiceServer.
func (s *Server) GetCustomer(ctx context.Context, req *customerv1.GetCustomerRequest) (*customerv1.GetCustomerResponse, error) {
	if err := checkID("id", req.GetId()); err != nil {
		return nil, err
	}
	c, err := s.customers.GetCustomer(caller(ctx), req.GetId())
	if err != nil {
		return nil, toStatus(err, "")
	}
	return &customerv1.GetCustomerResponse{Customer: protoconv.ToProtoCustomer(c)}, nil
}

// ListCustomers implements customerv1.CustomerServiceServer.
func (s *Server) ListCustomers(ctx context.Context, req *customerv1.ListCustomersRequest) (*customerv1.ListCustomersResponse, error) {
	q := app.ListCustomers{
		PageSize: int(req.GetPageSize()), Filter: req.GetFilter(), OrderBy: req.GetOrderBy(),
		Query: req.GetQuery(), ShowDeleted: req.GetShowDeleted(),
	}
	pos, err := decodePosition(req)
	if err != nil {
		return nil, err
	}
	q.After, q.Seen = pos.After, pos.Seen
	page, err := s.customers.ListCustomers(caller(ctx), q)
	if err != nil {
		return nil, toStatus(err, "")
	}
	resp := &customerv1.ListCustomersResponse{Customers: make([]*customerv1.Customer, len(page.Customers))}
	for i, c := range page.Customers {
		resp.Customers[i] = protoconv.ToProtoCustomer(c)
	}
	resp.NextPageToken = encodePosition(req, listPosition{After: page.Next, Seen: page.NextSeen})
	resp.TotalSize = int32(min(page.TotalSize, math.MaxInt32))
	resp.TotalSizeIsLowerBound = page.TotalIsLowerBound
	return resp, nil
}

// UpdateCustomer implements customerv1.CustomerServiceServer.
func (s *Server) UpdateCustomer(ctx context.Context, req *customerv1.UpdateCustomerRequest) (*customerv1.UpdateCustomerResponse, error) {
	pc := req.GetCustomer()
	if pc == nil {
		return nil, required("customer")
	}
	if err := checkID("customer.id", pc.GetId()); err != nil {
		return nil, err
	}
	fields, err := toDomainFields(req.GetUpdateMask().GetPaths(), pc)
	if err != nil {
		return nil, err
	}
	c, err := s.customers.UpdateCustomer(caller(ctx), app.UpdateCustomer{
		ID: pc.GetId(), Etag: pc.GetEtag(), Profile: protoconv.ToDomainProfile(pc), Fields: fields,
	})
	if err != nil {
		return nil, toStatus(err, "customer.")
	}
	return &customerv1.UpdateCustomerResponse{Customer: protoconv.ToProtoCustomer(c)}, nil
}

// DeleteCustomer implements customerv1.CustomerServiceServer.
func (s *Server) DeleteCustomer(ctx context.Context, req *customerv1.DeleteCustomerRequest) (*customerv1.DeleteCustomerResponse, error) {
	if err := checkID("id", req.GetId()); err != nil {
		return nil, err
	}
	c, err := s.customers.DeleteCustomer(caller(ctx), req.GetId(), req.GetEtag())
	if err != nil {
		return nil, toStatus(err, "")
	}
	return &customerv1.DeleteCustomerResponse{Customer: protoconv.ToProtoCustomer(c)}, nil
}

// UndeleteCustomer implements customerv1.CustomerServiceServer.
func (s *Server) UndeleteCustomer(ctx context.Context, req *customerv1.UndeleteCustomerRequest) (*customerv1.UndeleteCustomerResponse, error) {
	if err := checkID("id", req.GetId()); err != nil {
		return nil, err
	}
	c, err := s.customers.UndeleteCustomer(caller(ctx), req.GetId())
	if err != nil {
		return nil, toStatus(err, "")
	}
	return &customerv1.UndeleteCustomerResponse{Customer: protoconv.ToProtoCustomer(c)}, nil
}

// EraseCustomer implements customerv1.CustomerServiceServer.
func (s *Server) EraseCustomer(ctx context.Context, req *customerv1.EraseCustomerRequest) (*customerv1.EraseCustomerResponse, error) {
	if err := checkID("id", req.GetId()); err != nil {
		return nil, err
	}
	c, err := s.customers.EraseCustomer(caller(ctx), req.GetId(), req.GetReason())
	if err != nil {
		return nil, toStatus(err, "")
	}
	return &customerv1.EraseCustomerResponse{Customer: protoconv.ToProtoCustomer(c)}, nil
}

// FindDuplicates implements customerv1.CustomerServiceServer.
func (s *Server) FindDuplicates(ctx context.Context, req *customerv1.FindDuplicatesRequest) (*customerv1.FindDuplicatesResponse, error) {
	if err := checkID("customer_id", req.GetCustomerId()); err != nil {
		return nil, err
	}
	dups, err := s.merges.FindDuplicates(caller(ctx), req.GetCustomerId(), int(req.GetPageSize()))
	if err != nil {
		return nil, toStatus(err, "")
	}
	resp := &customerv1.FindDuplicatesResponse{}
	for _, d := range dups {
		resp.Candidates = append(resp.Candidates, &customerv1.DuplicateCandidate{
			Customer: protoconv.ToProtoCustomer(d.Customer), Score: d.Score, Reasons: d.Reasons,
		})
	}
	return resp, nil
}

// MergeCustomers implements customerv1.CustomerServiceServer.
func (s *Server) MergeCustomers(ctx context.Context, req *customerv1.MergeCustomersRequest) (*customerv1.MergeCustomersResponse, error) {
	if err := checkID("survivor_customer_id", req.GetSurvivorCustomerId()); err != nil {
		return nil, err
	}
	if err := checkID("merged_customer_id", req.GetMergedCustomerId()); err != nil {
		return nil, err
	}
	c, err := s.merges.MergeCustomers(caller(ctx), req.GetSurvivorCustomerId(), req.GetMergedCustomerId(), req.GetReason())
	if err != nil {
		return nil, toStatus(err, "")
	}
	return &customerv1.MergeCustomersResponse{Customer: protoconv.ToProtoCustomer(c)}, nil
}

// TransferOwnership implements customerv1.CustomerServiceServer.
func (s *Server) TransferOwnership(ctx context.Context, req *customerv1.TransferOwnershipRequest) (*customerv1.TransferOwnershipResponse, error) {
	n, err := s.ownership.TransferOwnership(caller(ctx), domain.Transfer{
		FromOwner: req.GetFromOwnerId(), ToOwner: req.GetToOwnerId(), ToTeam: req.GetToTeamId(),
		Filter: req.GetFilter(), Reason: req.GetReason(),
	})
	if err != nil {
		return nil, toStatus(err, "")
	}
	return &customerv1.TransferOwnershipResponse{TransferredCount: int64(n)}, nil
}

// ListOwnershipChanges implements customerv1.CustomerServiceServer.
func (s *Server) ListOwnershipChanges(ctx context.Context, req *customerv1.ListOwnershipChangesRequest) (*customerv1.ListOwnershipChangesResponse, error) {
	if err := checkID("customer_id", req.GetCustomerId()); err != nil {
		return nil, err
	}
	offset, err := decodeOffset(req)
	if err != nil {
		return nil, err
	}
	changes, next, err := s.ownership.OwnershipChanges(caller(ctx), req.GetCustomerId(), int(req.GetPageSize()), offset)
	if err != nil {
		return nil, toStatus(err, "")
	}
	resp := &customerv1.ListOwnershipChangesResponse{NextPageToken: encodeOffset(req, next)}
	for _, c := range changes {
		resp.Changes = append(resp.Changes, protoconv.ToProtoOwnershipChange(c))
	}
	return resp, nil
}

// SetConsent implements customerv1.CustomerServiceServer.
func (s *Server) SetConsent(ctx context.Context, req *customerv1.SetConsentRequest) (*customerv1.SetConsentResponse, error) {
	if err := checkID("customer_id", req.GetCustomerId()); err != nil {
		return nil, err
	}
	c, err := s.customers.SetConsent(caller(ctx), req.GetCustomerId(), domain.Consent{
		Channel: domain.Channel(req.GetChannel()), Status: domain.ConsentStatus(req.GetStatus()), Source: req.GetSource(),
	})
	if err != nil {
		return nil, toStatus(err, "")
	}
	return &customerv1.SetConsentResponse{Customer: protoconv.ToProtoCustomer(c)}, nil
}

// CreateRelationship implements customerv1.CustomerServiceServer.
func (s *Server) CreateRelationship(ctx context.Context, req *customerv1.CreateRelationshipRequest) (*customerv1.CreateRelationshipResponse, error) {
	r := req.GetRelationship()
	if r == nil {
		return nil, required("relationship")
	}
	if err := checkID("relationship.from_customer_id", r.GetFromCustomerId()); err != nil {
		return nil, err
	}
	if err := checkID("relationship.to_customer_id", r.GetToCustomerId()); err != nil {
		return nil, err
	}
	out, err := s.relationships.CreateRelationship(caller(ctx), domain.Relationship{
		FromID: r.GetFromCustomerId(), ToID: r.GetToCustomerId(), Type: domain.RelationshipType(r.GetType()), Role: r.GetRole(),
	})
	if err != nil {
		return nil, toStatus(err, "relationship.")
	}
	return &customerv1.CreateRelationshipResponse{Relationship: protoconv.ToProtoRelationship(out)}, nil
}

// ListRelationships implements customerv1.CustomerServiceServer.
func (s *Server) ListRelationships(ctx context.Context, req *customerv1.ListRelationshipsRequest) (*customerv1.ListRelationshipsResponse, error) {
	if err := checkID("customer_id", req.GetCustomerId()); err != nil {
		return nil, err
	}
	rs, err := s.relationships.ListRelationships(caller(ctx), req.GetCustomerId())
	if err != nil {
		return nil, toStatus(err, "")
	}
	resp := &customerv1.ListRelationshipsResponse{}
	for _, r := range rs {
		resp.Relationships = append(resp.Relationships, protoconv.ToProtoRelationship(r))
	}
	return resp, nil
}

// DeleteRelationship implements customerv1.CustomerServiceServer.
func (s *Server) DeleteRelationship(ctx context.Context, req *customerv1.DeleteRelationshipRequest) (*customerv1.DeleteRelationshipResponse, error) {
	if err := checkID("id", req.GetId()); err != nil {
		return nil, err
	}
	if err := s.relationships.DeleteRelationship(caller(ctx), req.GetId()); err != nil {
		return nil, toStatus(err, "")
	}
	return &customerv1.DeleteRelationshipResponse{}, nil
}

// CreateAttributeDefinition implements customerv1.CustomerServiceServer.
func (s *Server) CreateAttributeDefinition(ctx context.Context, req *customerv1.CreateAttributeDefinitionRequest) (*customerv1.CreateAttributeDefinitionResponse, error) {
	d := req.GetAttributeDefinition()
	if d == nil {
		return nil, required("attribute_definition")
	}
	out, err := s.definitions.CreateAttributeDefinition(caller(ctx), toDomainDefinition(d))
	if err != nil {
		return nil, toStatus(err, "attribute_definition.")
	}
	return &customerv1.CreateAttributeDefinitionResponse{AttributeDefinition: protoconv.ToProtoDefinition(out)}, nil
}

// ListAttributeDefinitions implements customerv1.CustomerServiceServer.
func (s *Server) ListAttributeDefinitions(ctx context.Context, _ *customerv1.ListAttributeDefinitionsRequest) (*customerv1.ListAttributeDefinitionsResponse, error) {
	defs, err := s.definitions.ListAttributeDefinitions(caller(ctx))
	if err != nil {
		return nil, toStatus(err, "")
	}
	resp := &customerv1.ListAttributeDefinitionsResponse{}
	for _, d := range defs {
		resp.AttributeDefinitions = append(resp.AttributeDefinitions, protoconv.ToProtoDefinition(d))
	}
	return resp, nil
}

// UpdateAttributeDefinition implements customerv1.CustomerServiceServer.
func (s *Server) UpdateAttributeDefinition(ctx context.Context, req *customerv1.UpdateAttributeDefinitionRequest) (*customerv1.UpdateAttributeDefinitionResponse, error) {
	d := req.GetAttributeDefinition()
	if d == nil {
		return nil, required("attribute_definition")
	}
	if d.GetName() == "" {
		return nil, required("attribute_definition.name")
	}
	fields := slices.Clone(req.GetUpdateMask().GetPaths())
	if len(fields) == 0 {
		if d.GetDisplayName() != "" {
			fields = append(fields, "display_name")
		}
		if d.GetDescription() != "" {
			fields = append(fields, "description")
		}
		if len(d.GetEnumValues()) > 0 {
			fields = append(fields, "enum_values")
		}
	}
	for i, f := range fields {
		fields[i] = fieldmask.ProtoName(f)
	}
	// The name is the identity and the times are output only; a REST
	// client sending back what it read puts them in the mask.
	fields = slices.DeleteFunc(fields, func(f string) bool { return f == "name" || f == "create_time" || f == "update_time" })
	out, err := s.definitions.UpdateAttributeDefinition(caller(ctx), app.DefinitionChange{Values: toDomainDefinition(d), Fields: fields})
	if err != nil {
		return nil, toStatus(err, "attribute_definition.")
	}
	return &customerv1.UpdateAttributeDefinitionResponse{AttributeDefinition: protoconv.ToProtoDefinition(out)}, nil
}

// DeleteAttributeDefinition implements customerv1.CustomerServiceServer.
func (s *Server) DeleteAttributeDefinition(ctx context.Context, req *customerv1.DeleteAttributeDefinitionRequest) (*customerv1.DeleteAttributeDefinitionResponse, error) {
	if req.GetName() == "" {
		return nil, required("name")
	}
	if err := s.definitions.DeleteAttributeDefinition(caller(ctx), req.GetName()); err != nil {
		return nil, toStatus(err, "")
	}
	return &customerv1.DeleteAttributeDefinitionResponse{}, nil
}

// ListAuditEntries implements customerv1.CustomerServiceServer.
func (s *Server) ListAuditEntries(ctx context.Context, req *customerv1.ListAuditEntriesRequest) (*customerv1.ListAuditEntriesResponse, error) {
	q := domain.AuditQuery{Actor: req.GetActor(), Limit: int(req.GetPageSize())}
	if id := req.GetCustomerId(); id != "" {
		if err := checkID("customer_id", id); err != nil {
			return nil, err
		}
		q.CustomerIDs = []string{id}
	}
	if t := req.GetStartTime(); t != nil {
		q.Start = t.AsTime()
	}
	if t := req.GetEndTime(); t != nil {
		q.End = t.AsTime()
	}
	offset, err := decodeOffset(req)
	if err != nil {
		return nil, err
	}
	q.Offset = offset
	entries, next, err := s.auditLog.ListAuditEntries(caller(ctx), q)
	if err != nil {
		return nil, toStatus(err, "")
	}
	resp := &customerv1.ListAuditEntriesResponse{NextPageToken: encodeOffset(req, next)}
	for _, e := range entries {
		resp.Entries = append(resp.Entries, protoconv.ToProtoAuditEntry(e))
	}
	return resp, nil
}
