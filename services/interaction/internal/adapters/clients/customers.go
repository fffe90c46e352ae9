// Package clients talks to the other guanxi services the interaction
// service depends on.
package clients

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
)

// Customers implements domain.Customers with the customer service's gRPC API.
type Customers struct {
	client  customerv1.CustomerServiceClient
	timeout time.Duration
}

// NewCustomers returns Customers calling the customer service over conn
// (from grpcclient.Dial, which retries UNAVAILABLE). timeout bounds each
// Exists call, retries included; zero means no bound beyond the caller's.
func NewCustomers(conn grpc.ClientConnInterface, timeout time.Duration) *Customers {
	return &Customers{client: customerv1.NewCustomerServiceClient(conn), timeout: timeout}
}

// Exists asks the customer service for the customer. A failure to reach it
// (or a slow answer) wraps domain.ErrUnavailable, so callers can tell "try
// again" from "no such customer".
func (c *Customers) Exists(ctx context.Context, id string) (bool, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	_, err := c.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: id})
	switch code := status.Code(err); code {
	case codes.OK:
		return true, nil
	case codes.NotFound:
		return false, nil
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return false, fmt.Errorf("customer service: %w: %s", domain.ErrUnavailable, code)
	case codes.Canceled:
		return false, fmt.Errorf("customer service: %w", context.Canceled)
	default:
		return false, fmt.Errorf("customer service: get customer: %w", err)
	}
}
