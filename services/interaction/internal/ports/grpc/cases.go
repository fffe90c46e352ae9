package grpc

import (
	"context"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/app"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/protoconv"
)

func required(field string) error {
	return rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: field, Description: "is required"})
}

// CreateCase opens a case.
func (s *Server) CreateCase(ctx context.Context, req *interactionv1.CreateCaseRequest) (*interactionv1.CreateCaseResponse, error) {
	if req.GetCase() == nil {
		return nil, required("case")
	}
	c, v := protoconv.ToDomainCase(req.GetCase())
	if len(v) > 0 {
		return nil, toStatus(v.Nest("case").Err())
	}
	requestID := req.GetRequestId()
	if requestID == "" {
		requestID = idempotencyKey(ctx)
	}
	out, err := s.cases.CreateCase(ctx, app.CreateCase{Case: c, RequestID: requestID})
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.CreateCaseResponse{Case: protoconv.ToProtoCase(out)}, nil
}

// GetCase returns one case.
func (s *Server) GetCase(ctx context.Context, req *interactionv1.GetCaseRequest) (*interactionv1.GetCaseResponse, error) {
	c, err := s.cases.GetCase(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.GetCaseResponse{Case: protoconv.ToProtoCase(c)}, nil
}

// ListCases returns a page of cases.
func (s *Server) ListCases(ctx context.Context, req *interactionv1.ListCasesRequest) (*interactionv1.ListCasesResponse, error) {
	after, err := decodePageToken(req)
	if err != nil {
		return nil, err
	}
	page, err := s.cases.ListCases(ctx, app.ListCases{Filter: ownFilter(ctx, req.GetFilter(), "assignee_id", "team_id"), PageSize: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &interactionv1.ListCasesResponse{}
	for _, c := range page.Cases {
		resp.Cases = append(resp.Cases, protoconv.ToProtoCase(c))
	}
	if page.Next != nil {
		resp.NextPageToken = encodePageToken(req, *page.Next)
	}
	return resp, nil
}

// AssignCase gives a case to an agent.
func (s *Server) AssignCase(ctx context.Context, req *interactionv1.AssignCaseRequest) (*interactionv1.AssignCaseResponse, error) {
	if err := s.caseInScope(ctx, req.GetId()); err != nil {
		return nil, err
	}
	c, err := s.cases.AssignCase(ctx, req.GetId(), req.GetAssigneeId(), req.GetTeamId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.AssignCaseResponse{Case: protoconv.ToProtoCase(c)}, nil
}

// EscalateCase escalates a case by hand; the caller is who escalates.
func (s *Server) EscalateCase(ctx context.Context, req *interactionv1.EscalateCaseRequest) (*interactionv1.EscalateCaseResponse, error) {
	if err := s.caseInScope(ctx, req.GetId()); err != nil {
		return nil, err
	}
	caller, _ := auth.FromContext(ctx)
	c, err := s.cases.EscalateCase(ctx, req.GetId(), req.GetEscalatedTo(), req.GetReason(), caller.Subject)
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.EscalateCaseResponse{Case: protoconv.ToProtoCase(c)}, nil
}

// UpdateCaseStatus moves a case.
func (s *Server) UpdateCaseStatus(ctx context.Context, req *interactionv1.UpdateCaseStatusRequest) (*interactionv1.UpdateCaseStatusResponse, error) {
	if err := s.caseInScope(ctx, req.GetId()); err != nil {
		return nil, err
	}
	to, ok := protoconv.ToDomainStatus(req.GetStatus())
	if !ok {
		return nil, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "status", Description: "is required: IN_PROGRESS, WAITING_ON_CUSTOMER or CLOSED"})
	}
	c, err := s.cases.UpdateCaseStatus(ctx, req.GetId(), to)
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.UpdateCaseStatusResponse{Case: protoconv.ToProtoCase(c)}, nil
}

// ResolveCase resolves a case.
func (s *Server) ResolveCase(ctx context.Context, req *interactionv1.ResolveCaseRequest) (*interactionv1.ResolveCaseResponse, error) {
	if err := s.caseInScope(ctx, req.GetId()); err != nil {
		return nil, err
	}
	c, err := s.cases.ResolveCase(ctx, req.GetId(), req.GetResolution(), req.GetAgentId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.ResolveCaseResponse{Case: protoconv.ToProtoCase(c)}, nil
}

// ReopenCase reopens a case.
func (s *Server) ReopenCase(ctx context.Context, req *interactionv1.ReopenCaseRequest) (*interactionv1.ReopenCaseResponse, error) {
	if err := s.caseInScope(ctx, req.GetId()); err != nil {
		return nil, err
	}
	c, err := s.cases.ReopenCase(ctx, req.GetId(), req.GetReason())
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.ReopenCaseResponse{Case: protoconv.ToProtoCase(c)}, nil
}

// AddCaseComment adds a note or reply.
func (s *Server) AddCaseComment(ctx context.Context, req *interactionv1.AddCaseCommentRequest) (*interactionv1.AddCaseCommentResponse, error) {
	if err := s.caseInScope(ctx, req.GetCaseId()); err != nil {
		return nil, err
	}
	if req.GetComment() == nil {
		return nil, required("comment")
	}
	p := req.GetComment()
	c, err := s.cases.AddCaseComment(ctx, req.GetCaseId(), domain.Comment{AuthorID: p.GetAuthorId(), Body: p.GetBody(), CustomerVisible: p.GetCustomerVisible()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.AddCaseCommentResponse{Comment: protoconv.ToProtoComment(c)}, nil
}

// ListCaseComments returns a case's comments.
func (s *Server) ListCaseComments(ctx context.Context, req *interactionv1.ListCaseCommentsRequest) (*interactionv1.ListCaseCommentsResponse, error) {
	if err := s.caseInScope(ctx, req.GetCaseId()); err != nil {
		return nil, err
	}
	list, err := s.cases.ListCaseComments(ctx, req.GetCaseId())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &interactionv1.ListCaseCommentsResponse{}
	for _, c := range list {
		resp.Comments = append(resp.Comments, protoconv.ToProtoComment(c))
	}
	return resp, nil
}

// CreateBusinessCalendar stores a calendar.
func (s *Server) CreateBusinessCalendar(ctx context.Context, req *interactionv1.CreateBusinessCalendarRequest) (*interactionv1.CreateBusinessCalendarResponse, error) {
	if req.GetCalendar() == nil {
		return nil, required("calendar")
	}
	cal, err := s.caseSettings.CreateBusinessCalendar(ctx, protoconv.ToDomainCalendar(req.GetCalendar()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.CreateBusinessCalendarResponse{Calendar: protoconv.ToProtoCalendar(cal)}, nil
}

// GetBusinessCalendar returns a calendar.
func (s *Server) GetBusinessCalendar(ctx context.Context, req *interactionv1.GetBusinessCalendarRequest) (*interactionv1.GetBusinessCalendarResponse, error) {
	cal, err := s.caseSettings.GetBusinessCalendar(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.GetBusinessCalendarResponse{Calendar: protoconv.ToProtoCalendar(cal)}, nil
}

// CreateSlaPolicy stores a policy.
func (s *Server) CreateSlaPolicy(ctx context.Context, req *interactionv1.CreateSlaPolicyRequest) (*interactionv1.CreateSlaPolicyResponse, error) {
	if req.GetSlaPolicy() == nil {
		return nil, required("sla_policy")
	}
	p, v := protoconv.ToDomainSLAPolicy(req.GetSlaPolicy())
	if len(v) > 0 {
		return nil, toStatus(v.Nest("sla_policy").Err())
	}
	out, err := s.caseSettings.CreateSLAPolicy(ctx, p)
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.CreateSlaPolicyResponse{SlaPolicy: protoconv.ToProtoSLAPolicy(out)}, nil
}

// ListSlaPolicies returns every policy.
func (s *Server) ListSlaPolicies(ctx context.Context, _ *interactionv1.ListSlaPoliciesRequest) (*interactionv1.ListSlaPoliciesResponse, error) {
	list, err := s.caseSettings.ListSLAPolicies(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &interactionv1.ListSlaPoliciesResponse{}
	for _, p := range list {
		resp.SlaPolicies = append(resp.SlaPolicies, protoconv.ToProtoSLAPolicy(p))
	}
	return resp, nil
}

// CreateTeam stores a team.
func (s *Server) CreateTeam(ctx context.Context, req *interactionv1.CreateTeamRequest) (*interactionv1.CreateTeamResponse, error) {
	if req.GetTeam() == nil {
		return nil, required("team")
	}
	p := req.GetTeam()
	t, err := s.caseSettings.CreateTeam(ctx, domain.Team{ID: p.GetId(), Name: p.GetName(), ManagerID: p.GetManagerId()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &interactionv1.CreateTeamResponse{Team: &interactionv1.Team{Id: t.ID, Name: t.Name, ManagerId: t.ManagerID}}, nil
}

// caseInScope reads case id and checks the caller may see its customer,
// so that another team's case is NotFound for changes and comments too.
// A case that cannot be read is left to the use case to report.
func (s *Server) caseInScope(ctx context.Context, id string) error {
	if !s.scope.Limits(ctx) {
		return nil
	}
	c, err := s.cases.GetCase(ctx, id)
	if err != nil {
		return nil
	}
	return s.scope.Check(ctx, c.CustomerID)
}
