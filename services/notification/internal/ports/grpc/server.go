// Package grpc serves the NotificationService API: it converts requests to
// use case calls, results to proto, and domain errors to gRPC statuses.
package grpc

import (
	"context"
	"errors"

	"google.golang.org/protobuf/types/known/timestamppb"

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
	svc *app.Service
}

// NewServer returns a Server over svc.
func NewServer(svc *app.Service) *Server {
	return &Server{svc: svc}
}

// ListMessages returns a customer's messages, newest first.
func (s *Server) ListMessages(ctx context.Context, req *notificationv1.ListMessagesRequest) (*notificationv1.ListMessagesResponse, error) {
	page, err := s.svc.ListMessages(ctx, req.GetCustomerId(), int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &notificationv1.ListMessagesResponse{
		Messages:      make([]*notificationv1.Message, 0, len(page.Messages)),
		NextPageToken: page.NextPageToken,
	}
	for _, m := range page.Messages {
		resp.Messages = append(resp.Messages, toProtoMessage(m))
	}
	return resp, nil
}

// toStatus maps domain errors to gRPC statuses. Anything unmapped goes back
// as is, for the server's safety net to log and turn into Internal.
func toStatus(err error) error {
	var verr *validation.Error
	if errors.As(err, &verr) {
		return rpcerr.InvalidArgument(verr.Violations...)
	}
	return err
}

func toProtoMessage(m domain.Message) *notificationv1.Message {
	out := &notificationv1.Message{
		Id:            m.ID,
		CustomerId:    m.CustomerID,
		Channel:       protoconv.ToProtoChannel(m.Channel),
		Template:      m.Template,
		Subject:       m.Subject,
		Body:          m.Body,
		Status:        toProtoStatus(m.Status),
		FailureReason: m.FailureReason,
		CreateTime:    timestamppb.New(m.CreateTime),
	}
	if !m.SendTime.IsZero() {
		out.SendTime = timestamppb.New(m.SendTime)
	}
	return out
}

func toProtoStatus(s domain.Status) notificationv1.MessageStatus {
	switch s {
	case domain.StatusQueued:
		return notificationv1.MessageStatus_MESSAGE_STATUS_QUEUED
	case domain.StatusSent:
		return notificationv1.MessageStatus_MESSAGE_STATUS_SENT
	case domain.StatusFailed:
		return notificationv1.MessageStatus_MESSAGE_STATUS_FAILED
	default:
		return notificationv1.MessageStatus_MESSAGE_STATUS_UNSPECIFIED
	}
}
