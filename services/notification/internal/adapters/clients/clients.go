// Package clients talks to the other guanxi services the notification
// service depends on: the customer service, which owns consents, and the
// segmentation service, which streams campaign audiences.
package clients

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
	"github.com/guanxi-crm/guanxi/services/notification/internal/protoconv"
)

// reasonMetadata is why the customer service audits a call. Whom it is
// made for (the person this service serves, or this service itself)
// travels with the service's credentials (auth.ServiceDialOption).
const reasonMetadata = "x-guanxi-reason"

// Consents implements domain.ConsentWriter with the customer service's
// SetConsent.
type Consents struct {
	client customerv1.CustomerServiceClient
}

var _ domain.ConsentWriter = (*Consents)(nil)

// NewConsents returns Consents calling the customer service over conn.
func NewConsents(conn grpc.ClientConnInterface) *Consents {
	return &Consents{client: customerv1.NewCustomerServiceClient(conn)}
}

// SetConsent records the answer; a customer the service does not have
// (any more) is domain.ErrNotFound.
func (c *Consents) SetConsent(ctx context.Context, customerID string, ch domain.Channel, st domain.ConsentStatus, source string) error {
	ctx = metadata.AppendToOutgoingContext(ctx, reasonMetadata, "unsubscribe link")
	req := &customerv1.SetConsentRequest{CustomerId: customerID, Channel: protoconv.ToConsentChannel(ch), Status: protoconv.ToConsentStatus(st), Source: source}
	_, err := c.client.SetConsent(ctx, req)
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.NotFound:
		return fmt.Errorf("customer service: set consent: %w", domain.ErrNotFound)
	default:
		return fmt.Errorf("customer service: set consent: %w", err)
	}
}

// Segments implements domain.MemberSource with the segmentation service's
// StreamSegmentMembers.
type Segments struct {
	client segmentationv1.SegmentationServiceClient
}

var _ domain.MemberSource = (*Segments)(nil)

// NewSegments returns Segments calling the segmentation service over conn.
func NewSegments(conn grpc.ClientConnInterface) *Segments {
	return &Segments{client: segmentationv1.NewSegmentationServiceClient(conn)}
}

// StreamMembers streams the segment's members page by page.
func (s *Segments) StreamMembers(ctx context.Context, segmentID string, page func([]string) error) error {
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(ctx, reasonMetadata, "campaign audience"))
	defer cancel()
	stream, err := s.client.StreamSegmentMembers(ctx, &segmentationv1.StreamSegmentMembersRequest{SegmentId: segmentID})
	if err != nil {
		return fmt.Errorf("segmentation service: stream members: %w", err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("segmentation service: stream members: %w", err)
		}
		if err := page(resp.GetCustomerIds()); err != nil {
			return err
		}
	}
}
