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
// Resolve call, retries included; zero means no bound beyond the caller's.
func NewCustomers(conn grpc.ClientConnInterface, timeout time.Duration) *Customers {
	return &Customers{client: customerv1.NewCustomerServiceClient(conn), timeout: timeout}
}

// Resolve asks the customer service for the customer. GetCustomer answers
// a merged customer's id with the survivor, whose id is the one to keep
// interactions under. A failure to reach the service (or a slow answer)
// wraps domain.ErrUnavailable, so callers can tell "try again" from "no
// such customer".
func (c *Customers) Resolve(ctx context.Context, id string) (string, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	resp, err := c.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Id: id})
	switch code := status.Code(err); code {
	case codes.OK:
	case codes.NotFound:
		return "", &domain.CustomerNotFoundError{CustomerID: id}
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return "", fmt.Errorf("customer service: %w: %s", domain.ErrUnavailable, code)
	case codes.Canceled:
		return "", fmt.Errorf("customer service: %w", context.Canceled)
	default:
		return "", fmt.Errorf("customer service: get customer: %w", err)
	}
	customer := resp.GetCustomer()
	if customer.GetState() == customerv1.CustomerState_CUSTOMER_STATE_ERASED {
		return "", &domain.CustomerErasedError{CustomerID: id}
	}
	if customer.GetId() == "" {
		// An answer without an id names the customer asked for.
		return id, nil
	}
	return customer.GetId(), nil
}
