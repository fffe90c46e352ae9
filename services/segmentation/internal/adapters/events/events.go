// Package events turns the segmentation service's domain events into their
// wire form, the payloads and subjects of segmentation's events.proto, for
// the store to write to the transactional outbox.
package events

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
	"github.com/guanxi-crm/guanxi/services/segmentation/internal/protoconv"
)

// Source is the Ce-Source of the events segmentation publishes.
const Source = "guanxi/segmentation"

// NewEncoder returns what gives the segmentation domain's events their wire form;
// the store (through platform/events.Transactor) writes them to the outbox.
func NewEncoder() events.ProtoEncoder[domain.Event] {
	return events.ProtoEncoder[domain.Event]{Source: Source, ToProto: toProtoEvent}
}

func toProtoEvent(ev domain.Event) (string, proto.Message, error) {
	switch e := ev.(type) {
	case domain.ClassChanged:
		return segmentationv1.SubjectCustomerClassChanged, &segmentationv1.CustomerClassChanged{
			CustomerId:    e.CustomerID,
			OldClass:      protoconv.ToProtoClass(e.Old),
			NewClass:      protoconv.ToProtoClass(e.New),
			OldRfmSegment: e.OldRFM,
			NewRfmSegment: e.NewRFM,
		}, nil
	case domain.MembershipChanged:
		return segmentationv1.SubjectSegmentMembershipChanged, &segmentationv1.SegmentMembershipChanged{
			SegmentId:   e.SegmentID,
			SegmentName: e.SegmentName,
			CustomerId:  e.CustomerID,
			Member:      e.Member,
		}, nil
	default:
		return "", nil, fmt.Errorf("encode event: unknown domain event %T", ev)
	}
}
