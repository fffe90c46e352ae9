package grpc

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/pagetoken"
	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	"github.com/guanxi-crm/guanxi/platform/validation"
	"github.com/guanxi-crm/guanxi/services/customer/internal/domain"
)

// requestFields are violation fields that belong to the request itself,
// never to the resource in it.
var requestFields = map[string]bool{
	"request_id": true, "update_mask": true, "page_size": true, "page_token": true, "filter": true,
	"order_by": true, "query": true, "reason": true, "etag": true,
}

// toStatus maps domain errors to gRPC statuses; it is the one place that
// does. Violations of the resource's fields get resource (such as
// "customer.") put in front, so they name the field's path in the request.
// Anything unmapped is returned as is, so the platform's safety net logs it
// and answers Internal.
func toStatus(err error, resource string) error {
	return rpcerr.Map(err,
		rpcerr.As[*domain.NotFoundError](codes.NotFound),
		invalidIn(resource),
		deniedIn(resource),
		rpcerr.AsFunc(codes.AlreadyExists, func(dup *domain.DuplicateError) string {
			if dup.OutOfScope {
				return dup.Error() + "; a manager or admin of that customer's team can merge the two"
			}
			return dup.Error() + "; set allow_duplicate to create it anyway, or merge the two"
		}),
		rpcerr.As[*domain.ConflictError](codes.AlreadyExists),
		rpcerr.As[*domain.StateError](codes.FailedPrecondition),
		rpcerr.As[*domain.PreconditionError](codes.FailedPrecondition),
		rpcerr.IsMessage(domain.ErrStale, codes.Aborted, domain.ErrStale.Error()),
		rpcerr.IsMessage(domain.ErrRetry, codes.Aborted, domain.ErrRetry.Error()),
	)
}

// inResource names field's path in the request: resource's fields are
// nested in it, the request's own are not.
func inResource(resource, field string) string {
	if requestFields[field] {
		return field
	}
	return resource + field
}

// invalidIn maps validation errors to InvalidArgument with the violations'
// fields put inside resource.
func invalidIn(resource string) rpcerr.Rule {
	return func(err error) (error, bool) {
		var ve *validation.Error
		if !errors.As(err, &ve) {
			return nil, false
		}
		out := make(validation.Violations, len(ve.Violations))
		for i, v := range ve.Violations {
			v.Field = inResource(resource, v.Field)
			out[i] = v
		}
		return rpcerr.InvalidArgument(out...), true
	}
}

// deniedIn maps a scope error to PermissionDenied naming the field inside
// resource.
func deniedIn(resource string) rpcerr.Rule {
	return func(err error) (error, bool) {
		var sc *domain.ScopeError
		if !errors.As(err, &sc) {
			return nil, false
		}
		return status.Error(codes.PermissionDenied, inResource(resource, sc.Field)+": "+sc.Reason), true
	}
}

// decodeOffset returns the offset the page token of req points at, 0 for the
// first page. The token is bound to req's other parameters, so a token used
// with a different filter or order is refused instead of paging through a
// different result.
func decodeOffset(req proto.Message) (int, error) {
	var n int
	ok, err := pagetoken.Decode(req, &n)
	if err != nil || (ok && n <= 0) {
		return 0, badPageToken()
	}
	return n, nil
}

// listPosition is what a ListCustomers page token carries: the store's
// cursor after the page's last customer, and how many customers the pages
// so far returned (for the last page's total_size).
type listPosition struct {
	After string `json:"a"`
	Seen  int    `json:"n"`
}

// decodePosition returns the position the page token of req points at, the
// zero position for the first page.
func decodePosition(req proto.Message) (listPosition, error) {
	var pos listPosition
	ok, err := pagetoken.Decode(req, &pos)
	if err != nil || (ok && (pos.After == "" || pos.Seen <= 0)) {
		return listPosition{}, badPageToken()
	}
	return pos, nil
}

// encodePosition returns the page token for the page at pos, "" when there
// is none.
func encodePosition(req proto.Message, pos listPosition) string {
	if pos.After == "" {
		return ""
	}
	return pagetoken.Encode(req, pos)
}

func badPageToken() error {
	return rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "page_token",
		Description: "is not a token this service issued for these parameters; list again from the first page"})
}

// encodeOffset returns the page token for the page at offset, "" when there
// is none.
func encodeOffset(req proto.Message, offset int) string {
	if offset <= 0 {
		return ""
	}
	return pagetoken.Encode(req, offset)
}
