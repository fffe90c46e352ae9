package segmentation_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/testinfra"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
)

// membershipEvents reads segmentation.segment.membership_changed from the
// start of the stream.
type membershipEvents struct {
	c jetstream.Consumer
}

func watchMemberships(t *testing.T, h harness) membershipEvents {
	t.Helper()
	c, err := h.js.OrderedConsumer(context.Background(), segmentationv1.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{segmentationv1.SubjectSegmentMembershipChanged},
	})
	if err != nil {
		t.Fatal(err)
	}
	return membershipEvents{c: c}
}

// next returns the next n events.
func (m membershipEvents) next(t *testing.T, n int) []*segmentationv1.SegmentMembershipChanged {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*segmentationv1.SegmentMembershipChanged
	for range n {
		msg, err := m.c.Next(jetstream.FetchContext(ctx))
		if err != nil {
			t.Fatalf("waiting for membership event %d of %d: %v", len(out)+1, n, err)
		}
		var ev segmentationv1.SegmentMembershipChanged
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, &ev)
	}
	return out
}

func (h harness) customer(t *testing.T, subject string, c *customerv1.Customer) {
	t.Helper()
	switch subject {
	case customerv1.SubjectCustomerCreated:
		h.publish(t, subject, &customerv1.CustomerCreated{Customer: c})
	case customerv1.SubjectCustomerUpdated:
		h.publish(t, subject, &customerv1.CustomerUpdated{Customer: c})
	default:
		t.Fatalf("no customer event %s", subject)
	}
}

func (h harness) members(t *testing.T, segmentID string) []string {
	t.Helper()
	stream, err := h.client.StreamSegmentMembers(context.Background(), &segmentationv1.StreamSegmentMembersRequest{SegmentId: segmentID})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for {
		page, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return ids
		}
		if err != nil {
			t.Fatalf("StreamSegmentMembers: %v", err)
		}
		ids = append(ids, page.GetCustomerIds()...)
	}
}

func (h harness) isMember(t *testing.T, segmentID, customerID string) bool {
	t.Helper()
	resp, err := h.client.CheckSegmentMembership(context.Background(), &segmentationv1.CheckSegmentMembershipRequest{SegmentId: segmentID, CustomerId: customerID})
	if err != nil {
		t.Fatalf("CheckSegmentMembership: %v", err)
	}
	return resp.GetMember()
}

// TestRuleSegments defines segments over values and profile fields and
// follows their members: computed at creation, kept up to date by
// purchase and profile events, recomputed when the filter changes, left
// on delete; every change published; members listed, paged, streamed and
// checked.
func TestRuleSegments(t *testing.T) {
	eachDatabase(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		events := watchMemberships(t, h)
		now := time.Now().UTC()
		vip, plain, late := newID(t), newID(t), newID(t)
		h.customer(t, customerv1.SubjectCustomerCreated, &customerv1.Customer{Id: vip, Tags: []string{"vip"}, Kind: customerv1.CustomerKind_CUSTOMER_KIND_DISTRIBUTOR,
			Attributes: map[string]*customerv1.AttributeValue{"city": {Value: &customerv1.AttributeValue_StringValue{StringValue: "杭州"}}}})
		h.customer(t, customerv1.SubjectCustomerCreated, &customerv1.Customer{Id: plain})
		h.drainCustomers(t)
		h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), vip, 90000, now.Add(-time.Hour)))
		h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), plain, 10000, now.Add(-time.Hour)))
		h.drainPurchases(t)

		create := func(name, filter string) *segmentationv1.Segment {
			t.Helper()
			resp, err := h.client.CreateSegment(ctx, &segmentationv1.CreateSegmentRequest{
				Segment: &segmentationv1.Segment{Name: name, Filter: filter}, RequestId: "req-" + name,
			})
			if err != nil {
				t.Fatalf("CreateSegment(%s): %v", name, err)
			}
			return resp.GetSegment()
		}
		top := create("top_vips", `abc_class = "A" AND tags:"vip" AND kind = DISTRIBUTOR AND attributes.city = "杭州"`)
		if top.GetMemberCount() != 1 || top.GetEtag() == "" || top.GetCreateTime() == nil {
			t.Errorf("created %v", top)
		}
		if got := events.next(t, 1)[0]; got.GetCustomerId() != vip || !got.GetMember() || got.GetSegmentId() != top.GetId() || got.GetSegmentName() != "top_vips" {
			t.Errorf("membership event %v", got)
		}
		// The same request id returns the same segment.
		again, err := h.client.CreateSegment(ctx, &segmentationv1.CreateSegmentRequest{
			Segment: &segmentationv1.Segment{Name: "top_vips", Filter: `tags:"vip"`}, RequestId: "req-top_vips"})
		if err != nil || again.GetSegment().GetId() != top.GetId() {
			t.Errorf("retried create = %v, %v", again, err)
		}
		spenders := create("spenders", `trailing_spend >= 100 AND purchase_count > 0`)
		if got, want := h.members(t, spenders.GetId()), []string{vip, plain}; !sameSet(got, want) {
			t.Errorf("spenders = %v, want %v", got, want)
		}
		events.next(t, 2)

		// A tag added by an update puts plain in top_vips once plain is A
		// too: a big purchase first, then the profile.
		h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), plain, 500000, now.Add(-time.Minute)))
		h.customer(t, customerv1.SubjectCustomerUpdated, &customerv1.Customer{Id: plain, Tags: []string{"vip"}, Kind: customerv1.CustomerKind_CUSTOMER_KIND_DISTRIBUTOR,
			Attributes: map[string]*customerv1.AttributeValue{"city": {Value: &customerv1.AttributeValue_StringValue{StringValue: "杭州"}}}})
		testinfra.Eventually(t, 10*time.Second, "plain to join top_vips", func() bool { return h.isMember(t, top.GetId(), plain) })
		if got := events.next(t, 1)[0]; got.GetCustomerId() != plain || !got.GetMember() {
			t.Errorf("event %v, want plain joining", got)
		}
		// plain's purchase made vip B (plain's 510000 of 600000 is above
		// vip), which a purchase announces only for its buyer; the
		// recompute takes vip out.
		if !h.isMember(t, top.GetId(), vip) {
			t.Error("vip left top_vips before any event about vip")
		}
		if n := h.recompute(t).GetMembershipChangeCount(); n != 1 {
			t.Errorf("recompute changed %d memberships, want vip leaving", n)
		}
		if got := events.next(t, 1)[0]; got.GetCustomerId() != vip || got.GetMember() {
			t.Errorf("event %v, want vip leaving", got)
		}

		// Paging: the segment of everyone with a purchase, 1 per page.
		everyone := create("everyone", `purchase_count >= 1`)
		var paged []string
		token := ""
		for {
			resp, err := h.client.ListSegmentMembers(ctx, &segmentationv1.ListSegmentMembersRequest{SegmentId: everyone.GetId(), PageSize: 1, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetTotalSize() != everyone.GetMemberCount() {
				t.Errorf("total size %d, member count %d", resp.GetTotalSize(), everyone.GetMemberCount())
			}
			paged = append(paged, resp.GetCustomerIds()...)
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if streamed := h.members(t, everyone.GetId()); !slices.Equal(paged, streamed) || int64(len(paged)) != everyone.GetMemberCount() || !slices.IsSorted(paged) {
			t.Errorf("paged %v, streamed %v, count %d", paged, streamed, everyone.GetMemberCount())
		}

		// Narrowing the filter recomputes the members; the name is kept.
		upd, err := h.client.UpdateSegment(ctx, &segmentationv1.UpdateSegmentRequest{
			Segment:    &segmentationv1.Segment{Id: everyone.GetId(), Filter: `purchase_count >= 1 AND lifetime_spend > 1000`, Etag: everyone.GetEtag()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"filter"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if upd.GetSegment().GetName() != "everyone" || upd.GetSegment().GetMemberCount() != 1 || !h.isMember(t, everyone.GetId(), plain) {
			t.Errorf("updated %v", upd.GetSegment())
		}
		_, err = h.client.UpdateSegment(ctx, &segmentationv1.UpdateSegmentRequest{
			Segment: &segmentationv1.Segment{Id: everyone.GetId(), Name: "x", Etag: everyone.GetEtag()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
		if status.Code(err) != codes.Aborted {
			t.Errorf("update with a stale etag: %v, want Aborted", err)
		}

		// A customer created later is checked against every segment.
		h.customer(t, customerv1.SubjectCustomerCreated, &customerv1.Customer{Id: late, CreateTime: timestamppb.Now()})
		h.publish(t, interactionv1.SubjectPurchaseRecorded, purchaseEvent(newID(t), late, 200000, now.Add(-time.Second)))
		testinfra.Eventually(t, 10*time.Second, "late to join everyone", func() bool { return h.isMember(t, everyone.GetId(), late) })

		list, err := h.client.ListSegments(ctx, &segmentationv1.ListSegmentsRequest{})
		if err != nil || len(list.GetSegments()) != 3 || list.GetSegments()[0].GetName() != "everyone" {
			t.Errorf("ListSegments = %v, %v", list, err)
		}
		if _, err := h.client.DeleteSegment(ctx, &segmentationv1.DeleteSegmentRequest{Id: top.GetId()}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.client.GetSegment(ctx, &segmentationv1.GetSegmentRequest{Id: top.GetId()}); status.Code(err) != codes.NotFound {
			t.Errorf("deleted segment: %v", err)
		}

		// Bad requests name the field.
		for _, tt := range []struct {
			name  string
			call  func() error
			code  codes.Code
			field string
		}{
			{"unknown filter field", func() error {
				_, err := h.client.CreateSegment(ctx, &segmentationv1.CreateSegmentRequest{Segment: &segmentationv1.Segment{Name: "x", Filter: `colour = "red"`}})
				return err
			}, codes.InvalidArgument, "segment.filter"},
			{"bad filter syntax", func() error {
				_, err := h.client.CreateSegment(ctx, &segmentationv1.CreateSegmentRequest{Segment: &segmentationv1.Segment{Name: "x", Filter: `p_alive < `}})
				return err
			}, codes.InvalidArgument, "segment.filter"},
			{"bad class", func() error {
				_, err := h.client.CreateSegment(ctx, &segmentationv1.CreateSegmentRequest{Segment: &segmentationv1.Segment{Name: "x", Filter: `abc_class = "D"`}})
				return err
			}, codes.InvalidArgument, "segment.filter"},
			{"no name", func() error {
				_, err := h.client.CreateSegment(ctx, &segmentationv1.CreateSegmentRequest{Segment: &segmentationv1.Segment{Filter: `p_alive < 0.5`}})
				return err
			}, codes.InvalidArgument, "segment.name"},
			{"no segment", func() error {
				_, err := h.client.CreateSegment(ctx, &segmentationv1.CreateSegmentRequest{})
				return err
			}, codes.InvalidArgument, "segment"},
			{"name taken", func() error {
				_, err := h.client.CreateSegment(ctx, &segmentationv1.CreateSegmentRequest{Segment: &segmentationv1.Segment{Name: "spenders", Filter: `p_alive < 0.5`}})
				return err
			}, codes.AlreadyExists, ""},
			{"bad segment id", func() error {
				_, err := h.client.ListSegmentMembers(ctx, &segmentationv1.ListSegmentMembersRequest{SegmentId: "nope"})
				return err
			}, codes.InvalidArgument, "segment_id"},
			{"unknown segment", func() error {
				_, err := h.client.CheckSegmentMembership(ctx, &segmentationv1.CheckSegmentMembershipRequest{SegmentId: newID(t), CustomerId: vip})
				return err
			}, codes.NotFound, ""},
			{"bad customer id", func() error {
				_, err := h.client.CheckSegmentMembership(ctx, &segmentationv1.CheckSegmentMembershipRequest{SegmentId: spenders.GetId(), CustomerId: "x"})
				return err
			}, codes.InvalidArgument, "customer_id"},
			{"bad page token", func() error {
				_, err := h.client.ListSegmentMembers(ctx, &segmentationv1.ListSegmentMembersRequest{SegmentId: spenders.GetId(), PageToken: "zz"})
				return err
			}, codes.InvalidArgument, "page_token"},
			{"negative page size", func() error {
				_, err := h.client.ListSegments(ctx, &segmentationv1.ListSegmentsRequest{PageSize: -1})
				return err
			}, codes.InvalidArgument, "page_size"},
			{"stream of unknown segment", func() error {
				s, err := h.client.StreamSegmentMembers(ctx, &segmentationv1.StreamSegmentMembersRequest{SegmentId: newID(t)})
				if err != nil {
					return err
				}
				_, err = s.Recv()
				return err
			}, codes.NotFound, ""},
			{"unknown mask field", func() error {
				_, err := h.client.UpdateSegment(ctx, &segmentationv1.UpdateSegmentRequest{Segment: &segmentationv1.Segment{Id: spenders.GetId()},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}}})
				return err
			}, codes.InvalidArgument, "update_mask"},
		} {
			err := tt.call()
			if status.Code(err) != tt.code {
				t.Errorf("%s: %v, want %v", tt.name, err, tt.code)
				continue
			}
			if tt.field != "" {
				if v := rpcerr.Violations(err); len(v) == 0 || v[0].Field != tt.field {
					t.Errorf("%s: violations %v, want field %s", tt.name, v, tt.field)
				}
			}
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
