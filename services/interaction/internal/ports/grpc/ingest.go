package grpc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	"github.com/guanxi-crm/guanxi/platform/rpcerr"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/protoconv"
)

// ingestChunk bounds how many streamed events are recorded together:
// large enough for bulk writes to pay, small enough to keep a
// transaction's size modest.
const ingestChunk = 2000

// received is one Recv of a stream.
type received struct {
	req *interactionv1.IngestEventsRequest
	err error
}

// IngestEvents records the events of a client stream and answers with
// every event's result once the client closes its side. Events are
// recorded as they arrive: whatever has arrived while the previous chunk
// was written goes into the next one, so a busy stream writes large
// chunks and a quiet one does not wait for a chunk to fill.
func (s *Server) IngestEvents(stream grpc.ClientStreamingServer[interactionv1.IngestEventsRequest, interactionv1.IngestEventsResponse]) error {
	ctx := stream.Context()
	done := make(chan struct{})
	defer close(done)
	incoming := make(chan received, 8)
	go func() {
		for {
			req, err := stream.Recv()
			select {
			case incoming <- received{req, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	resp := &interactionv1.IngestEventsResponse{}
	var (
		chunk []domain.IngestEvent
		total int
	)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		results, err := s.ingestion.Ingest(ctx, chunk)
		if err != nil {
			return toStatus(err)
		}
		base := total - len(chunk)
		for i, r := range results {
			addResult(&resp.Results, &resp.CreatedCount, &resp.DuplicateCount, &resp.RejectedCount, base+i, r)
		}
		chunk = chunk[:0]
		return nil
	}
	// take adds one received message; eof reports the end of the stream.
	take := func(r received) (eof bool, err error) {
		if errors.Is(r.err, io.EOF) {
			return true, nil
		}
		if r.err != nil {
			return false, r.err
		}
		if total+len(r.req.GetEvents()) > domain.MaxIngestStream {
			return false, rpcerr.InvalidArgument(rpcerr.FieldViolation{Field: "events",
				Description: fmt.Sprintf("a stream carries at most %d events; open another one", domain.MaxIngestStream)})
		}
		for _, ev := range r.req.GetEvents() {
			chunk = append(chunk, protoconv.ToDomainIngestEvent(ev))
			total++
			if len(chunk) == ingestChunk {
				if err := flush(); err != nil {
					return false, err
				}
			}
		}
		return false, nil
	}
	for {
		var r received
		select {
		case r = <-incoming:
		case <-ctx.Done():
			return ctx.Err()
		}
		eof, err := take(r)
	more:
		for !eof && err == nil && len(chunk) < ingestChunk {
			select {
			case r = <-incoming:
				eof, err = take(r)
			default:
				break more
			}
		}
		if err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
		if eof {
			return stream.SendAndClose(resp)
		}
	}
}

// BatchIngestEvents records one batch of events.
func (s *Server) BatchIngestEvents(ctx context.Context, req *interactionv1.BatchIngestEventsRequest) (*interactionv1.BatchIngestEventsResponse, error) {
	evs := make([]domain.IngestEvent, len(req.GetEvents()))
	for i, ev := range req.GetEvents() {
		evs[i] = protoconv.ToDomainIngestEvent(ev)
	}
	results, err := s.ingestion.Ingest(ctx, evs)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &interactionv1.BatchIngestEventsResponse{}
	for i, r := range results {
		addResult(&resp.Results, &resp.CreatedCount, &resp.DuplicateCount, &resp.RejectedCount, i, r)
	}
	return resp, nil
}

func addResult(results *[]*interactionv1.IngestResult, created, duplicates, rejected *int32, index int, r domain.IngestResult) {
	*results = append(*results, protoconv.ToProtoIngestResult(index, r))
	switch r.Outcome {
	case domain.OutcomeCreated:
		*created++
	case domain.OutcomeDuplicate:
		*duplicates++
	case domain.OutcomeRejected:
		*rejected++
	}
}
