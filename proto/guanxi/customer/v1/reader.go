package customerv1

import (
	"context"

	"google.golang.org/grpc"
)

// Reader returns a function that reads customer id through conn and
// returns the call's error, for services that check a caller may see a
// customer (platform/auth's CustomerScope) with the caller's own token.
func Reader(conn grpc.ClientConnInterface) func(ctx context.Context, id string) error {
	client := NewCustomerServiceClient(conn)
	return func(ctx context.Context, id string) error {
		_, err := client.GetCustomer(ctx, &GetCustomerRequest{Id: id})
		return err
	}
}
