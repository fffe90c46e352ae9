package rpcerr

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// A Rule recognises one kind of domain error and returns the status the
// client sees for it; ok is false when err is not of its kind. Each service
// lists its rules once, in its ports, and maps every error with Map.
type Rule func(err error) (st error, ok bool)

// Map returns the status for err from the first rule that recognises it, in
// order (an error can match several kinds, and the first rule wins). An error
// no rule recognises is returned unchanged: the server's interceptor answers
// it with codes.Internal and a generic message, and logs the detail.
func Map(err error, rules ...Rule) error {
	if err == nil {
		return nil
	}
	for _, r := range rules {
		if st, ok := r(err); ok {
			return st
		}
	}
	return err
}

// Invalid maps a *validation.Error to InvalidArgument with its violations.
func Invalid() Rule {
	return func(err error) (error, bool) {
		var verr *validation.Error
		if !errors.As(err, &verr) {
			return nil, false
		}
		return InvalidArgument(verr.Violations...), true
	}
}

// Is maps errors wrapping target to code, with the whole error's text as the
// message.
func Is(target error, code codes.Code) Rule {
	return IsFunc(target, code, error.Error)
}

// IsMessage maps errors wrapping target to code with a fixed message, for an
// error whose text holds what the client should not see or need not read.
func IsMessage(target error, code codes.Code, msg string) Rule {
	return IsFunc(target, code, func(error) string { return msg })
}

// IsFunc maps errors wrapping target to code, with the message msg makes of
// the whole error.
func IsFunc(target error, code codes.Code, msg func(error) string) Rule {
	return func(err error) (error, bool) {
		if !errors.Is(err, target) {
			return nil, false
		}
		return status.Error(code, msg(err)), true
	}
}

// As maps errors wrapping an error of type T to code, with the text of that
// error (not of the wrapping chain) as the message.
func As[T error](code codes.Code) Rule {
	return AsFunc(code, func(e T) string { return e.Error() })
}

// AsFunc maps errors wrapping an error of type T to code, with the message
// msg makes of that error.
func AsFunc[T error](code codes.Code, msg func(T) string) Rule {
	return func(err error) (error, bool) {
		var target T
		if !errors.As(err, &target) {
			return nil, false
		}
		return status.Error(code, msg(target)), true
	}
}

// Context maps a canceled or timed-out context to Canceled or
// DeadlineExceeded.
func Context() Rule {
	return func(err error) (error, bool) {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, false
		}
		return status.FromContextError(err).Err(), true
	}
}
