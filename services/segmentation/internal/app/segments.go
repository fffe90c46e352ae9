package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/guanxi-crm/guanxi/platform/validation"

	"github.com/guanxi-crm/guanxi/services/segmentation/internal/domain"
)

// Segments keeps the rule segments and answers who their members are;
// members follow the customers' values and profiles.
type Segments struct{ *core }

func fieldError(field, description string) error {
	return validation.Violations{{Field: field, Description: description}}.Err()
}

func newEtag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CreateSegment stores a segment and computes its members, announcing
// each. The same request id returns the segment it created.
func (s *Segments) CreateSegment(ctx context.Context, seg domain.Segment, requestID string) (domain.Segment, error) {
	if err := seg.Validate(); err != nil {
		return domain.Segment{}, fmt.Errorf("create segment: %w", err)
	}
	if err := s.store.CheckFilter(seg.Filter); err != nil {
		return domain.Segment{}, fmt.Errorf("create segment: %w", err)
	}
	if len(requestID) > 200 {
		return domain.Segment{}, fmt.Errorf("create segment: %w", fieldError("request_id", "must be at most 200 characters"))
	}
	id, err := uuid.NewV7()
	if err != nil {
		return domain.Segment{}, fmt.Errorf("create segment: %w", err)
	}
	now := s.now().UTC()
	seg.ID, seg.CreateTime, seg.UpdateTime, seg.Etag = id.String(), now, now, newEtag()
	defer s.readLock(ctx)()
	var created bool
	err = s.store.InTx(ctx, func(tx domain.Tx) error {
		seg.ID, created, err = tx.CreateSegment(ctx, seg, requestID)
		return err
	})
	if err != nil {
		return domain.Segment{}, fmt.Errorf("create segment: %w", err)
	}
	if created {
		stored, err := s.store.Segment(ctx, seg.ID)
		if err != nil {
			return domain.Segment{}, fmt.Errorf("create segment: %w", err)
		}
		if _, err := s.recomputeSegment(ctx, stored); err != nil {
			return domain.Segment{}, fmt.Errorf("create segment: %w", err)
		}
	}
	return s.GetSegment(ctx, seg.ID)
}

// GetSegment returns a segment with its member count.
func (s *Segments) GetSegment(ctx context.Context, id string) (domain.Segment, error) {
	if err := validateSegmentID("id", id); err != nil {
		return domain.Segment{}, fmt.Errorf("get segment: %w", err)
	}
	seg, err := s.store.Segment(ctx, id)
	if err != nil {
		return domain.Segment{}, fmt.Errorf("get segment: %w", err)
	}
	return seg, nil
}

func validateSegmentID(field, id string) error {
	if !domain.IsID(id) {
		return fieldError(field, "must be a UUID")
	}
	return nil
}

// Paging limits (DESIGN.md section 5).
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// PageSize checks and defaults a page size.
func PageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, fieldError("page_size", "must not be negative")
	case n == 0:
		return DefaultPageSize, nil
	case n > MaxPageSize:
		return MaxPageSize, nil
	}
	return int(n), nil
}

// pageToken encodes the last key of a page; opaque to callers.
func pageToken(last string) string { return hex.EncodeToString([]byte(last)) }

func parsePageToken(tok string) (string, error) {
	b, err := hex.DecodeString(tok)
	if err != nil {
		return "", fieldError("page_token", "is not a token this API returned")
	}
	return string(b), nil
}

// ListSegments pages through segments by name.
func (s *Segments) ListSegments(ctx context.Context, pageSize int32, token string) ([]domain.Segment, string, error) {
	n, err := PageSize(pageSize)
	if err != nil {
		return nil, "", fmt.Errorf("list segments: %w", err)
	}
	after, err := parsePageToken(token)
	if err != nil {
		return nil, "", fmt.Errorf("list segments: %w", err)
	}
	segs, err := s.store.ListSegments(ctx, after, n+1)
	if err != nil {
		return nil, "", fmt.Errorf("list segments: %w", err)
	}
	next := ""
	if len(segs) > n {
		segs = segs[:n]
		next = pageToken(segs[n-1].Name)
	}
	return segs, next, nil
}

// UpdateSegment changes the fields named in mask (name, description,
// filter). A set etag must match. A changed filter recomputes the members.
func (s *Segments) UpdateSegment(ctx context.Context, in domain.Segment, mask []string) (domain.Segment, error) {
	if err := validateSegmentID("segment.id", in.ID); err != nil {
		return domain.Segment{}, fmt.Errorf("update segment: %w", err)
	}
	if len(mask) == 0 {
		mask = []string{"name", "description", "filter"}
	}
	defer s.readLock(ctx)()
	var updated domain.Segment
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		cur, err := tx.Segment(ctx, in.ID)
		if err != nil {
			return err
		}
		if in.Etag != "" && in.Etag != cur.Etag {
			return fmt.Errorf("segment %s changed since etag %s: %w", in.ID, in.Etag, domain.ErrConflict)
		}
		next := cur
		for _, f := range mask {
			switch strings.TrimSpace(f) {
			case "name":
				next.Name = in.Name
			case "description":
				next.Description = in.Description
			case "filter":
				next.Filter = in.Filter
			case "id", "member_count", "create_time", "update_time", "etag", "memberCount", "createTime", "updateTime":
				// Output-only fields a REST client echoes back.
			default:
				return fieldError("update_mask", fmt.Sprintf("unknown field %q; updatable: name, description, filter", f))
			}
		}
		if err := next.Validate(); err != nil {
			return err
		}
		if err := s.store.CheckFilter(next.Filter); err != nil {
			return err
		}
		if next.Name == cur.Name && next.Description == cur.Description && next.Filter == cur.Filter {
			updated = cur
			return nil
		}
		next.UpdateTime, next.Etag = s.now().UTC(), newEtag()
		updated = next
		return tx.UpdateSegment(ctx, next)
	})
	if err != nil {
		return domain.Segment{}, fmt.Errorf("update segment: %w", err)
	}
	if _, err := s.recomputeSegment(ctx, updated); err != nil {
		return domain.Segment{}, fmt.Errorf("update segment: %w", err)
	}
	return s.GetSegment(ctx, updated.ID)
}

// DeleteSegment deletes a segment; its members leave it, announced.
func (s *Segments) DeleteSegment(ctx context.Context, id string) error {
	if err := validateSegmentID("id", id); err != nil {
		return fmt.Errorf("delete segment: %w", err)
	}
	defer s.readLock(ctx)()
	err := s.store.InTx(ctx, func(tx domain.Tx) error {
		seg, err := tx.Segment(ctx, id)
		if err != nil {
			return err
		}
		members, err := tx.SegmentMembers(ctx, id)
		if err != nil {
			return err
		}
		evs := make([]domain.Event, len(members))
		for i, c := range members {
			evs[i] = domain.MembershipChanged{SegmentID: id, SegmentName: seg.Name, CustomerID: c}
		}
		if err := tx.DeleteSegment(ctx, id); err != nil {
			return err
		}
		return tx.Publish(ctx, evs...)
	})
	if err != nil {
		return fmt.Errorf("delete segment: %w", err)
	}
	return nil
}

// ListSegmentMembers pages through a segment's members by customer id,
// with the total.
func (s *Segments) ListSegmentMembers(ctx context.Context, segmentID string, pageSize int32, token string) ([]string, string, int64, error) {
	seg, err := s.getSegmentAs(ctx, "segment_id", segmentID)
	if err != nil {
		return nil, "", 0, fmt.Errorf("list segment members: %w", err)
	}
	n, err := PageSize(pageSize)
	if err != nil {
		return nil, "", 0, fmt.Errorf("list segment members: %w", err)
	}
	after, err := parsePageToken(token)
	if err != nil {
		return nil, "", 0, fmt.Errorf("list segment members: %w", err)
	}
	ids, err := s.store.Members(ctx, segmentID, after, n+1)
	if err != nil {
		return nil, "", 0, fmt.Errorf("list segment members: %w", err)
	}
	next := ""
	if len(ids) > n {
		ids = ids[:n]
		next = pageToken(ids[n-1])
	}
	return ids, next, seg.MemberCount, nil
}

func (s *Segments) getSegmentAs(ctx context.Context, field, id string) (domain.Segment, error) {
	if err := validateSegmentID(field, id); err != nil {
		return domain.Segment{}, err
	}
	return s.store.Segment(ctx, id)
}

// StreamPageSize is how many customer ids StreamSegmentMembers sends per
// message: 5,000 ids of 36 bytes stay far below gRPC's 4 MiB limit.
const StreamPageSize = 5000

// StreamSegmentMembers sends a segment's members in pages to send, in id
// order, reading one page at a time.
func (s *Segments) StreamSegmentMembers(ctx context.Context, segmentID string, send func(ids []string) error) error {
	if _, err := s.getSegmentAs(ctx, "segment_id", segmentID); err != nil {
		return fmt.Errorf("stream segment members: %w", err)
	}
	after := ""
	for {
		ids, err := s.store.Members(ctx, segmentID, after, StreamPageSize)
		if err != nil {
			return fmt.Errorf("stream segment members: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		if err := send(slices.Clip(ids)); err != nil {
			return err
		}
		if len(ids) < StreamPageSize {
			return nil
		}
		after = ids[len(ids)-1]
	}
}

// CheckMembership says whether a customer (or the survivor it was merged
// into) is in a segment.
func (s *Segments) CheckMembership(ctx context.Context, segmentID, customerID string) (bool, error) {
	if _, err := s.getSegmentAs(ctx, "segment_id", segmentID); err != nil {
		return false, fmt.Errorf("check membership: %w", err)
	}
	if err := domain.ValidateCustomerID(customerID); err != nil {
		return false, fmt.Errorf("check membership: %w", err)
	}
	id, err := s.survivor(ctx, customerID)
	if err != nil {
		return false, fmt.Errorf("check membership: %w", err)
	}
	ok, err := s.store.IsMember(ctx, segmentID, id)
	if err != nil {
		return false, fmt.Errorf("check membership: %w", err)
	}
	return ok, nil
}
