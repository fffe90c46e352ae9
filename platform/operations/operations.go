// Package operations runs long work as long-running operations (AIP-151):
// the call that starts the work answers at once with the operation's name,
// the work goes on in the background, and callers poll for the outcome.
// Operations are rows of the service's own database (the platform's
// operations table), so a poll reaching another replica finds them.
//
// An operation whose process stops gracefully ends ABORTED; one whose
// process dies stays unfinished until it is pruned, and its caller starts
// the work again.
package operations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/sqldb"
)

// Retention is how long an ended operation can still be read.
const Retention = 7 * 24 * time.Hour

// pruneEvery is how often Run deletes operations past Retention.
const pruneEvery = time.Hour

// Operation is one operation as stored.
type Operation struct {
	// Name is "<service>/operations/<id>".
	Name string
	// Method is the full RPC that started it.
	Method string
	// CreateTime is when it started, EndTime when it ended (zero while it
	// runs).
	CreateTime, EndTime time.Time
	// Error is why it failed; Response what it produced. At most one is
	// set, and only once it has ended.
	Error    *spb.Status
	Response *anypb.Any
}

// Done reports whether the operation has ended.
func (o Operation) Done() bool { return !o.EndTime.IsZero() }

// Work is the long part of a call. Its error should be a gRPC status (the
// service's usual mapping of domain errors); any other error is stored as
// INTERNAL, with the detail logged, never stored.
type Work func(ctx context.Context) (proto.Message, error)

// Runner starts operations and answers for them.
type Runner struct {
	db      *sqldb.DB
	service string
	logger  *slog.Logger
	now     func() time.Time

	// base ends the work of every operation when Run stops.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a runner naming its operations "<service>/operations/<id>"
// in db, which must have the platform's migrations applied (sqldb.Migrate).
func New(db *sqldb.DB, service string, logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.Default()
	}
	base, cancel := context.WithCancel(context.Background())
	return &Runner{db: db, service: service, logger: logger, now: time.Now, base: base, cancel: cancel}
}

// Start records a new operation of method and runs work in the background
// with ctx's values (the caller's identity, the trace) but not its end:
// the call that started it answers at once. It returns the operation as
// started.
func (r *Runner) Start(ctx context.Context, method string, work Work) (Operation, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Operation{}, fmt.Errorf("start operation: %w", err)
	}
	op := Operation{Name: r.service + "/operations/" + id.String(), Method: method, CreateTime: r.now().UTC().Truncate(time.Microsecond)}
	subject := logging.NotedSubject(ctx)
	if _, err := r.db.Exec(ctx, `INSERT INTO operations (name, method, subject, create_time) VALUES (?, ?, ?, ?)`,
		op.Name, op.Method, subject, sqldb.Micros(op.CreateTime)); err != nil {
		return Operation{}, fmt.Errorf("start operation: %w", err)
	}
	if r.base.Err() != nil {
		// Run has stopped: nothing would wait for the work.
		r.finish(ctx, op, nil, status.Error(codes.Unavailable, "the service is shutting down"))
		return r.Get(ctx, op.Name)
	}
	workCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(r.base, cancel)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		defer stop()
		resp, err := work(workCtx)
		if err != nil && r.base.Err() != nil {
			err = status.Error(codes.Aborted, "the service stopped before the operation ended; start it again")
		}
		r.finish(workCtx, op, resp, err)
	}()
	return op, nil
}

// finish stores the outcome of op. It writes even when ctx is done: the
// outcome must outlive the work's cancellation.
func (r *Runner) finish(ctx context.Context, op Operation, resp proto.Message, workErr error) {
	var errBytes, respBytes []byte
	var err error
	if workErr != nil {
		st, ok := status.FromError(workErr)
		if !ok {
			r.logger.ErrorContext(ctx, "operation failed", slog.String("operation", op.Name), slog.String("method", op.Method), slog.Any("error", workErr))
			st = status.New(codes.Internal, "internal error")
		}
		errBytes, err = proto.Marshal(st.Proto())
	} else {
		var a *anypb.Any
		if resp != nil {
			if a, err = anypb.New(resp); err == nil {
				respBytes, err = proto.Marshal(a)
			}
		}
	}
	if err != nil {
		r.logger.ErrorContext(ctx, "operation outcome not stored", slog.String("operation", op.Name), slog.Any("error", err))
		errBytes, _ = proto.Marshal(status.New(codes.Internal, "internal error").Proto())
		respBytes = nil
	}
	end := r.now().UTC()
	writeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := r.db.Exec(writeCtx, `UPDATE operations SET end_time = ?, error = ?, response = ? WHERE name = ?`,
		sqldb.Micros(end), errBytes, respBytes, op.Name); err != nil {
		r.logger.ErrorContext(ctx, "operation outcome not stored", slog.String("operation", op.Name), slog.Any("error", err))
		return
	}
	level := slog.LevelInfo
	code := codes.OK
	if workErr != nil {
		code = status.Code(workErr)
		level = slog.LevelWarn
	}
	r.logger.Log(ctx, level, "operation ended", slog.String("operation", op.Name), slog.String("method", op.Method),
		slog.String("code", code.String()), slog.Float64("duration_ms", float64(end.Sub(op.CreateTime).Microseconds())/1000))
}

// Get returns the operation named name of this service. Its errors are gRPC
// statuses: INVALID_ARGUMENT for a name of another form, NOT_FOUND for
// an unknown (or pruned) operation.
func (r *Runner) Get(ctx context.Context, name string) (Operation, error) {
	id, ok := strings.CutPrefix(name, r.service+"/operations/")
	if _, err := uuid.Parse(id); !ok || err != nil {
		return Operation{}, status.Errorf(codes.InvalidArgument, "name must be %s/operations/{id}", r.service)
	}
	var (
		op             = Operation{Name: name}
		created        int64
		ended          sql.NullInt64
		errBytes, resp []byte
	)
	err := r.db.QueryRow(ctx, `SELECT method, create_time, end_time, error, response FROM operations WHERE name = ?`, name).
		Scan(&op.Method, &created, &ended, &errBytes, &resp)
	if errors.Is(err, sql.ErrNoRows) {
		return Operation{}, status.Errorf(codes.NotFound, "operation %s not found", name)
	}
	if err != nil {
		return Operation{}, fmt.Errorf("get operation: %w", err)
	}
	op.CreateTime = sqldb.FromMicros(created)
	if ended.Valid {
		op.EndTime = sqldb.FromMicros(ended.Int64)
	}
	if len(errBytes) > 0 {
		op.Error = &spb.Status{}
		if err := proto.Unmarshal(errBytes, op.Error); err != nil {
			return Operation{}, fmt.Errorf("get operation: read error: %w", err)
		}
	}
	if len(resp) > 0 {
		op.Response = &anypb.Any{}
		if err := proto.Unmarshal(resp, op.Response); err != nil {
			return Operation{}, fmt.Errorf("get operation: read response: %w", err)
		}
	}
	return op, nil
}

// Run prunes ended operations past Retention every hour until ctx is
// done; then it ends the work still running (those operations end
// ABORTED) and returns once their outcomes are stored.
func (r *Runner) Run(ctx context.Context) error {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		r.prune(ctx)
		select {
		case <-ctx.Done():
			r.cancel()
			r.wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

// Stop ends the work still running and waits for it, for a runner whose
// Run was never started.
func (r *Runner) Stop() {
	r.cancel()
	r.wg.Wait()
}

func (r *Runner) prune(ctx context.Context) {
	cutoff := sqldb.Micros(r.now().Add(-Retention))
	if _, err := r.db.Exec(ctx, `DELETE FROM operations WHERE end_time IS NOT NULL AND end_time < ?`, cutoff); err != nil && ctx.Err() == nil {
		r.logger.WarnContext(ctx, "prune operations", slog.Any("error", err))
	}
}
