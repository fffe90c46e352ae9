package grpc

import (
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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
	var (
		nf   *domain.NotFoundError
		ve   *validation.Error
		se   *domain.StateError
		dup  *domain.DuplicateError
		sc   *domain.ScopeError
		conf *domain.ConflictError
		pre  *domain.PreconditionError
	)
	switch {
	case errors.As(err, &nf):
		return status.Error(codes.NotFound, nf.Error())
	case errors.As(err, &ve):
		out := make(validation.Violations, len(ve.Violations))
		for i, v := range ve.Violations {
			if !requestFields[v.Field] {
				v.Field = resource + v.Field
			}
			out[i] = v
		}
		return rpcerr.InvalidArgument(out...)
	case errors.As(err, &sc):
		field := sc.Field
		if !requestFields[field] {
			field = resource + field
		}
		return status.Error(codes.PermissionDenied, field+": "+sc.Reason)
	case errors.As(err, &dup) && dup.OutOfScope:
		return status.Error(codes.AlreadyExists, dup.Error()+"; a manager or admin of that customer's team can merge the two")
	case errors.As(err, &dup):
		return status.Error(codes.AlreadyExists, dup.Error()+"; set allow_duplicate to create it anyway, or merge the two")
	case errors.As(err, &conf):
		return status.Error(codes.AlreadyExists, conf.Error())
	case errors.As(err, &se):
		return status.Error(codes.FailedPrecondition, se.Error())
	case errors.As(err, &pre):
		return status.Error(codes.FailedPrecondition, pre.Error())
	case errors.Is(err, domain.ErrStale):
		return status.Error(codes.Aborted, domain.ErrStale.Error())
	case errors.Is(err, domain.ErrRetry):
		return status.Error(codes.Aborted, domain.ErrRetry.Error())
	}
	return err
}

// A page token is "<offset>:<fingerprint>" in unpadded base64url. The
// fingerprint is a hash of the request's other parameters, so a token used
// with a different filter or order is refused instead of paging through a
// different result. The inside is private to this service and may change;
// clients only pass it back.

func encodePageToken(offset int, fingerprint string) string {
	if offset <= 0 {
		return ""
	}
	raw := strconv.Itoa(offset) + ":" + hash(fingerprint)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodePageToken(token, fingerprint string) (int, error) {
	if token == "" {
		return 0, nil
	}
	bad := rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "page_token",
		Description: "is not a token this service issued for these parameters; list again from the first page"})
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, bad
	}
	off, h, ok := strings.Cut(string(b), ":")
	n, err := strconv.Atoi(off)
	if !ok || err != nil || n <= 0 || h != hash(fingerprint) {
		return 0, bad
	}
	return n, nil
}

func hash(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	return fmt.Sprintf("%016x", h.Sum64())
}
