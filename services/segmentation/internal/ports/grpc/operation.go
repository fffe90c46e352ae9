package grpc

import "github.com/guanxi-crm/guanxi/platform/operations"

// WithOperations returns s running its long calls as operations of r
// (AIP-151); without it those calls are refused as UNAVAILABLE.
func (s *Server) WithOperations(r *operations.Runner) *Server {
	s.ops = r
	return s
}
