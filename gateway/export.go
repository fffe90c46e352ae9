package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// ndjsonType is the media type of newline-delimited JSON.
const ndjsonType = "application/x-ndjson"

// exportPath is ExportCustomers' REST route.
const exportPath = "/v1/customers:export"

// registerExport serves GET /v1/customers:export as NDJSON: one customer
// per line, each flushed as its batch arrives. grpc-gateway's own
// handler for the server stream would write each batch of the gRPC stream
// as {"result":{"customers":[...]}}, which no NDJSON reader takes as
// customers. Registered after the generated routes, it takes precedence
// (runtime.ServeMux tries the latest registration first).
//
// An error before the first customer is an ordinary error answer; after
// it, the status is sent, so the connection is aborted instead of ending
// the body cleanly: a cut-off export must not look complete.
func registerExport(mux *runtime.ServeMux, conn *grpc.ClientConn, logger *slog.Logger) error {
	client := customerv1.NewCustomerServiceClient(conn)
	return mux.HandlePath(http.MethodGet, exportPath, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		_, out := runtime.MarshalerForRequest(mux, r)
		fail := func(ctx context.Context, err error) { runtime.HTTPError(ctx, mux, out, w, r, err) }
		ctx, err := runtime.AnnotateContext(ctx, mux, r, customerv1.CustomerService_ExportCustomers_FullMethodName,
			runtime.WithHTTPPathPattern(exportPath))
		if err != nil {
			fail(ctx, err)
			return
		}
		req := &customerv1.ExportCustomersRequest{}
		if err := runtime.PopulateQueryParameters(req, r.URL.Query(), &utilities.DoubleArray{}); err != nil {
			fail(ctx, status.Error(codes.InvalidArgument, err.Error()))
			return
		}
		stream, err := client.ExportCustomers(ctx, req)
		if err != nil {
			fail(ctx, err)
			return
		}
		// The first batch (or the refusal: a bad filter, no permission)
		// decides the status.
		batch, err := stream.Recv()
		if err != nil && !errors.Is(err, io.EOF) {
			fail(ctx, err)
			return
		}
		rc := http.NewResponseController(w)
		// An export of millions of customers outlasts the server's write
		// timeout, which is for ordinary answers.
		_ = rc.SetWriteDeadline(time.Time{})
		w.Header().Set("Content-Type", ndjsonType)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		rows := 0
		for err == nil {
			for _, c := range batch.GetCustomers() {
				line, merr := out.Marshal(c)
				if merr != nil {
					err = merr
					break
				}
				if _, werr := w.Write(append(line, '\n')); werr != nil {
					return // the client went away; ctx ends the stream
				}
				rows++
			}
			if err != nil {
				break
			}
			_ = rc.Flush()
			batch, err = stream.Recv()
		}
		if errors.Is(err, io.EOF) {
			return
		}
		logger.WarnContext(ctx, "customer export cut off", slog.Int("rows_sent", rows), slog.String("code", status.Code(err).String()))
		panic(http.ErrAbortHandler) // net/http's way to abort a response: the client sees a broken body, not EOF
	})
}
