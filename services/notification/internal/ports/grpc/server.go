// Package grpc serves the NotificationService API: it converts requests to
// use case calls, results to proto, and domain errors to gRPC statuses.
package grpc

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/auth"
	"github.com/guanxi-crm/guanxi/platform/operations"
	"github.com/guanxi-crm/guanxi/platform/pagetoken"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/app"
	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	"github.com/guanxi-crm/guanxi/services/notification/internal/protoconv"
)

// Server implements notificationv1.NotificationServiceServer.
type Server struct {
	notificationv1.UnimplementedNotificationServiceServer
	// The areas of the use cases the RPCs call.
	messages  *app.Messages
	customers *app.Customers
	schedules *app.Schedules
	templates *app.Templates
	campaigns *app.Campaigns
	ops       *operations.Runner
}

// NewServer returns a Server over svc.
func NewServer(svc *app.Service) *Server {
	return &Server{messages: svc.Messages, customers: svc.Customers, schedules: svc.Schedules,
		templates: svc.Templates, campaigns: svc.Campaigns}
}

// ListMessages returns a customer's messages, newest first.
func (s *Server) ListMessages(ctx context.Context, req *notificationv1.ListMessagesRequest) (*notificationv1.ListMessagesResponse, error) {
	cursor, err := pageCursor(req)
	if err != nil {
		return nil, err
	}
	page, err := s.messages.ListMessages(ctx, req.GetCustomerId(), int(req.GetPageSize()), cursor)
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.ListMessagesResponse{Messages: protoconv.ToProtoMessages(page.Messages), NextPageToken: pagetoken.Next(req, page.NextPageToken)}, nil
}

// ListAgentMessages returns an agent's notices, newest first.
func (s *Server) ListAgentMessages(ctx context.Context, req *notificationv1.ListAgentMessagesRequest) (*notificationv1.ListAgentMessagesResponse, error) {
	// An agent reads their own notices; their managers read the team's.
	if id, _ := auth.FromContext(ctx); id.Has(auth.Agent) && !id.Has(auth.Manager) && !id.SeesAll() && req.GetAgentId() != id.Subject {
		return nil, status.Error(codes.PermissionDenied, "an agent reads only their own notices: agent_id must be the caller")
	}
	cursor, err := pageCursor(req)
	if err != nil {
		return nil, err
	}
	page, err := s.messages.ListAgentMessages(ctx, req.GetAgentId(), int(req.GetPageSize()), cursor)
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.ListAgentMessagesResponse{Messages: protoconv.ToProtoMessages(page.Messages), NextPageToken: pagetoken.Next(req, page.NextPageToken)}, nil
}

// ListDeadLetters returns dead-lettered messages, newest first.
func (s *Server) ListDeadLetters(ctx context.Context, req *notificationv1.ListDeadLettersRequest) (*notificationv1.ListDeadLettersResponse, error) {
	cursor, err := pageCursor(req)
	if err != nil {
		return nil, err
	}
	page, err := s.messages.ListDeadLetters(ctx, int(req.GetPageSize()), cursor)
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.ListDeadLettersResponse{Messages: protoconv.ToProtoMessages(page.Messages), NextPageToken: pagetoken.Next(req, page.NextPageToken)}, nil
}

// GetMessage returns a message with its attempts.
func (s *Server) GetMessage(ctx context.Context, req *notificationv1.GetMessageRequest) (*notificationv1.GetMessageResponse, error) {
	m, attempts, err := s.messages.GetMessage(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	out := protoconv.ToProtoMessage(m)
	for _, a := range attempts {
		out.Attempts = append(out.Attempts, &notificationv1.DeliveryAttempt{
			Attempt: int32(a.Number), AttemptTime: timestamppb.New(a.Time), Outcome: a.Outcome, ProviderResponse: a.ProviderResponse,
		})
	}
	return &notificationv1.GetMessageResponse{Message: out}, nil
}

// RetryMessage queues a dead letter again.
func (s *Server) RetryMessage(ctx context.Context, req *notificationv1.RetryMessageRequest) (*notificationv1.RetryMessageResponse, error) {
	m, err := s.messages.RetryMessage(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.RetryMessageResponse{Message: protoconv.ToProtoMessage(m)}, nil
}

// ReportDelivery records a provider's receipt.
func (s *Server) ReportDelivery(ctx context.Context, req *notificationv1.ReportDeliveryRequest) (*notificationv1.ReportDeliveryResponse, error) {
	m, err := s.messages.ReportDelivery(ctx, req.GetId(), req.GetDelivered(), req.GetProviderResponse())
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.ReportDeliveryResponse{Message: protoconv.ToProtoMessage(m)}, nil
}

// SaveTemplate stores a template.
func (s *Server) SaveTemplate(ctx context.Context, req *notificationv1.SaveTemplateRequest) (*notificationv1.SaveTemplateResponse, error) {
	if req.GetTemplate() == nil {
		return nil, rpcerr.InvalidArgument(validation.Violation{Field: "template", Description: "is required"})
	}
	t := req.GetTemplate()
	saved, err := s.templates.SaveTemplate(ctx, domain.Template{
		Kind: t.GetKind(), Channel: protoconv.ToDomainChannel(t.GetChannel()), Locale: t.GetLocale(), Subject: t.GetSubject(), Body: t.GetBody(),
		HTMLBody: t.GetHtmlBody(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.SaveTemplateResponse{Template: protoconv.ToProtoTemplate(saved)}, nil
}

// ListTemplates returns the templates.
func (s *Server) ListTemplates(ctx context.Context, req *notificationv1.ListTemplatesRequest) (*notificationv1.ListTemplatesResponse, error) {
	ts, err := s.templates.ListTemplates(ctx, req.GetKind())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &notificationv1.ListTemplatesResponse{}
	for _, t := range ts {
		resp.Templates = append(resp.Templates, protoconv.ToProtoTemplate(t))
	}
	return resp, nil
}

// PreviewTemplate renders a template for a customer.
func (s *Server) PreviewTemplate(ctx context.Context, req *notificationv1.PreviewTemplateRequest) (*notificationv1.PreviewTemplateResponse, error) {
	subject, body, locale, err := s.templates.PreviewTemplate(ctx, app.Preview{
		Kind: req.GetKind(), Channel: protoconv.ToDomainChannel(req.GetChannel()), Locale: req.GetLocale(), CustomerID: req.GetCustomerId(),
		Vars: req.GetVariables(), DraftSubject: req.GetDraftSubject(), DraftBody: req.GetDraftBody(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.PreviewTemplateResponse{Subject: subject, Body: body, Locale: locale}, nil
}

// CreateCampaign creates a campaign.
func (s *Server) CreateCampaign(ctx context.Context, req *notificationv1.CreateCampaignRequest) (*notificationv1.CreateCampaignResponse, error) {
	c := req.GetCampaign()
	if c == nil {
		return nil, rpcerr.InvalidArgument(validation.Violation{Field: "campaign", Description: "is required"})
	}
	in := domain.Campaign{Name: c.GetName(), SegmentID: c.GetSegmentId(), Kind: c.GetTemplateKind(),
		RatePerSecond: int(c.GetRatePerSecond()), RequestID: req.GetRequestId()}
	if c.GetScheduleTime() != nil {
		if err := c.GetScheduleTime().CheckValid(); err != nil {
			return nil, rpcerr.InvalidArgument(validation.Violation{Field: "campaign.schedule_time", Description: "is not a valid time"})
		}
		in.ScheduleTime = c.GetScheduleTime().AsTime()
	}
	out, err := s.campaigns.CreateCampaign(ctx, in)
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.CreateCampaignResponse{Campaign: protoconv.ToProtoCampaign(out)}, nil
}

// GetCampaign returns a campaign.
func (s *Server) GetCampaign(ctx context.Context, req *notificationv1.GetCampaignRequest) (*notificationv1.GetCampaignResponse, error) {
	c, err := s.campaigns.GetCampaign(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.GetCampaignResponse{Campaign: protoconv.ToProtoCampaign(c)}, nil
}

// ListCampaigns lists campaigns.
func (s *Server) ListCampaigns(ctx context.Context, req *notificationv1.ListCampaignsRequest) (*notificationv1.ListCampaignsResponse, error) {
	cursor, err := pageCursor(req)
	if err != nil {
		return nil, err
	}
	page, err := s.campaigns.ListCampaigns(ctx, int(req.GetPageSize()), cursor)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &notificationv1.ListCampaignsResponse{NextPageToken: pagetoken.Next(req, page.NextPageToken)}
	for _, c := range page.Campaigns {
		resp.Campaigns = append(resp.Campaigns, protoconv.ToProtoCampaign(c))
	}
	return resp, nil
}

// PauseCampaign pauses a campaign.
func (s *Server) PauseCampaign(ctx context.Context, req *notificationv1.PauseCampaignRequest) (*notificationv1.PauseCampaignResponse, error) {
	c, err := s.campaigns.PauseCampaign(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.PauseCampaignResponse{Campaign: protoconv.ToProtoCampaign(c)}, nil
}

// ResumeCampaign resumes a campaign.
func (s *Server) ResumeCampaign(ctx context.Context, req *notificationv1.ResumeCampaignRequest) (*notificationv1.ResumeCampaignResponse, error) {
	c, err := s.campaigns.ResumeCampaign(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.ResumeCampaignResponse{Campaign: protoconv.ToProtoCampaign(c)}, nil
}

// CancelCampaign cancels a campaign.
func (s *Server) CancelCampaign(ctx context.Context, req *notificationv1.CancelCampaignRequest) (*notificationv1.CancelCampaignResponse, error) {
	c, err := s.campaigns.CancelCampaign(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.CancelCampaignResponse{Campaign: protoconv.ToProtoCampaign(c)}, nil
}

// Unsubscribe records an unsubscribe link's opt-out.
func (s *Server) Unsubscribe(ctx context.Context, req *notificationv1.UnsubscribeRequest) (*notificationv1.UnsubscribeResponse, error) {
	customerID, ch, err := s.customers.Unsubscribe(ctx, req.GetToken())
	if err != nil {
		return nil, toStatus(err)
	}
	return &notificationv1.UnsubscribeResponse{CustomerId: customerID, Channel: protoconv.ToProtoChannel(ch)}, nil
}

// RunSchedules starts the scheduled scans now, as an operation: a scan of
// every customer outlasts any call deadline.
func (s *Server) RunSchedules(ctx context.Context, _ *notificationv1.RunSchedulesRequest) (*notificationv1.RunSchedulesResponse, error) {
	op, err := s.ops.StartProto(ctx, notificationv1.NotificationService_RunSchedules_FullMethodName, func(ctx context.Context) (proto.Message, error) {
		run, err := s.schedules.RunSchedules(ctx)
		if err != nil {
			return nil, toStatus(err)
		}
		return &notificationv1.RunSchedulesResult{MessagesCreated: run.Created, GreetingsSkipped: run.Skipped}, nil
	})
	if err != nil {
		return nil, err
	}
	return &notificationv1.RunSchedulesResponse{Operation: op}, nil
}

// GetOperation returns an operation of this service.
func (s *Server) GetOperation(ctx context.Context, req *notificationv1.GetOperationRequest) (*notificationv1.GetOperationResponse, error) {
	op, err := s.ops.GetProto(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &notificationv1.GetOperationResponse{Operation: op}, nil
}

// toStatus maps domain errors to gRPC statuses. Anything unmapped goes back
// as is, for the server's safety net to log and turn into Internal.
func toStatus(err error) error { return rpcerr.Map(err, statusRules...) }

// statusRules are this service's domain errors and the codes clients see.
var statusRules = []rpcerr.Rule{
	rpcerr.Invalid(),
	rpcerr.IsFunc(domain.ErrNotFound, codes.NotFound, lastLine),
	rpcerr.IsFunc(domain.ErrFailedPrecondition, codes.FailedPrecondition, lastLine),
}

// lastLine is the part of a joined error that explains it to the caller.
func lastLine(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "\n"); i >= 0 {
		return msg[i+1:]
	}
	return msg
}

// pageCursor returns the use case's cursor inside req's page token, "" on
// the first page. The token is bound to the rest of req, so one issued for
// another customer, agent or list is refused.
func pageCursor(req proto.Message) (string, error) {
	var cursor string
	if _, err := pagetoken.Decode(req, &cursor); err != nil {
		return "", rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "page_token", Description: "is not a token from a previous page"})
	}
	return cursor, nil
}
