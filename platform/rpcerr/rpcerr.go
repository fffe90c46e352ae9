// Package rpcerr builds gRPC status errors the way every guanxi service
// returns them, so clients see the same shape for the same kind of failure.
package rpcerr

import (
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// FieldViolation names one invalid request field and what is wrong with it.
// It is validation.Violation, so a port hands a domain's
// *validation.Error to InvalidArgument as is:
//
//	rpcerr.InvalidArgument(verr.Violations...)
type FieldViolation = validation.Violation

// InvalidArgument returns a codes.InvalidArgument status whose message lists
// the violations ("invalid argument: name: is required; ...") for humans and
// whose errdetails.BadRequest detail lists them for programs.
func InvalidArgument(violations ...FieldViolation) error {
	var msg strings.Builder
	msg.WriteString("invalid argument")
	br := &errdetails.BadRequest{}
	for i, v := range violations {
		if i == 0 {
			msg.WriteString(": ")
		} else {
			msg.WriteString("; ")
		}
		msg.WriteString(v.Field + ": " + v.Description)
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: v.Field, Description: v.Description,
		})
	}
	st := status.New(codes.InvalidArgument, msg.String())
	if withDetails, err := st.WithDetails(br); err == nil {
		st = withDetails
	}
	return st.Err()
}

// UnavailableMessage is all a client learns when a call fails as
// Unavailable (a service, or one it depends on, cannot be reached): the
// client's transport text names internal addresses ("dial tcp
// 10.0.3.7:7101: connection refused"), so it goes to the log only.
const UnavailableMessage = "unavailable: a service this call needs cannot be reached; try again later"

// Unavailable returns the codes.Unavailable status every guanxi server and
// the REST edge answer with, whatever the transport said.
func Unavailable() error {
	return status.Error(codes.Unavailable, UnavailableMessage)
}

// Status returns a status error with code and msg.
func Status(code codes.Code, msg string) error {
	return status.Error(code, msg)
}

// Violations extracts the field violations from an InvalidArgument error,
// for clients and tests; it returns nil when err carries none.
func Violations(err error) []FieldViolation {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	var out []FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	return out
}
