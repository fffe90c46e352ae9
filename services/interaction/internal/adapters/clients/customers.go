// Package clients talks to the other guanxi services the interaction
// service depends on.
package clients

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
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

// reasonMetadata is why the customer service audits a call. Whom the call
// is made for (the person this service serves, or this service itself for
// a call center's NATS event) travels with the service's credentials
// (auth.ServiceDialOption).
const reasonMetadata = "x-guanxi-reason"

func (c *Customers) bounded(ctx context.Context, reason string) (context.Context, context.CancelFunc) {
	ctx = metadata.AppendToOutgoingContext(ctx, reasonMetadata, reason)
	if c.timeout > 0 {
		return context.WithTimeout(ctx, c.timeout)
	}
	return context.WithCancel(ctx)
}

// FindByPhone asks the customer service for the customer with the phone
// number (any of its numbers); "" when there is none.
func (c *Customers) FindByPhone(ctx context.Context, phone string) (string, error) {
	ctx, cancel := c.bounded(ctx, "match a caller by phone")
	defer cancel()
	resp, err := c.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{
		Filter:   fmt.Sprintf("phone = %q", phone),
		PageSize: 2,
	})
	if err != nil {
		return "", callError("list customers", err)
	}
	for _, cu := range resp.GetCustomers() {
		if cu.GetState() != customerv1.CustomerState_CUSTOMER_STATE_ERASED {
			return cu.GetId(), nil
		}
	}
	return "", nil
}

// CreateProspect creates a prospect for an unknown caller. The request id
// is derived from the phone, so concurrent or repeated calls for one number
// create one customer; a number taken meanwhile by another customer
// answers with that customer.
func (c *Customers) CreateProspect(ctx context.Context, phone, name string) (string, error) {
	cctx, cancel := c.bounded(ctx, "prospect for an unknown caller")
	defer cancel()
	resp, err := c.client.CreateCustomer(cctx, &customerv1.CreateCustomerRequest{
		Customer: &customerv1.Customer{
			Type:           customerv1.CustomerType_CUSTOMER_TYPE_PERSON,
			DisplayName:    name,
			Phone:          phone,
			Kind:           customerv1.CustomerKind_CUSTOMER_KIND_PROSPECT,
			LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_PROSPECT,
		},
		RequestId: "interaction-prospect:" + phone,
	})
	if status.Code(err) == codes.AlreadyExists {
		id, ferr := c.FindByPhone(ctx, phone)
		if ferr != nil || id != "" {
			return id, ferr
		}
	}
	if err != nil {
		return "", callError("create prospect", err)
	}
	return resp.GetCustomer().GetId(), nil
}

// callError wraps a failed call, marking the retriable ones ErrUnavailable.
func callError(op string, err error) error {
	switch code := status.Code(err); code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return fmt.Errorf("customer service: %s: %w: %s", op, domain.ErrUnavailable, code)
	case codes.Canceled:
		return fmt.Errorf("customer service: %s: %w", op, context.Canceled)
	default:
		return fmt.Errorf("customer service: %s: %w", op, err)
	}
}
