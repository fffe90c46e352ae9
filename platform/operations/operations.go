// Package operations runs long work as long-running operations (AIP-151):
// the call that starts the work answers at once with the operation's name,
// the work goes on in the background, and callers poll for the outcome.
// Operations are rows of the service's own database (the platform's
// operations table), so a poll reaching another replica finds them.
//
// An operation whose process stops gracefully ends ABORTED. While work
// runs, its replica renews the operation's heartbeat; one whose process
// died (kill -9, a lost node) stops renewing it, and the first poll after
// OrphanAfter ends it ABORTED, so no caller polls forever. Either way the
// caller starts the work again.
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

// Heartbeats: running work renews its operation every HeartbeatEvery; one
// not renewed for OrphanAfter has lost its replica. The margin covers a
// slow database and a stalled process for a few beats.
const (
	HeartbeatEvery = 10 * time.Second
	OrphanAfter    = 6 * HeartbeatEvery
)

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
	// heartbeatEvery and orphanAfter are HeartbeatEvery and OrphanAfter,
	// shortened by tests.
	heartbeatEvery, orphanAfter time.Duration

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
	return &Runner{db: db, service: service, logger: logger, now: time.Now, base: base, cancel: cancel,
		heartbeatEvery: HeartbeatEvery, orphanAfter: OrphanAfter}
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
	if _, err := r.db.Exec(ctx, `INSERT INTO operations (name, method, subject, create_time, heartbeat_time) VALUES (?, ?, ?, ?, ?)`,
		op.Name, op.Method, subject, sqldb.Micros(op.CreateTime), sqldb.Micros(op.CreateTime)); err != nil {
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
		beating := r.heartbeat(workCtx, op.Name)
		resp, err := work(workCtx)
		beating()
		if err != nil && r.base.Err() != nil {
			err = status.Error(codes.Aborted, "the service stopped before the operation ended; start it again")
		}
		r.finish(workCtx, op, resp, err)
	}()
	return op, nil
}

// heartbeat renews the heartbeat of the operation named name until the
// function it returns is called (and has waited for the last renewal).
func (r *Runner) heartbeat(ctx context.Context, name string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := r.db.Exec(ctx, `UPDATE operations SET heartbeat_time = ? WHERE name = ? AND end_time IS NULL`,
					sqldb.Micros(r.now()), name); err != nil && ctx.Err() == nil {
					r.logger.WarnContext(ctx, "operation heartbeat", slog.String("operation", name), slog.Any("error", err))
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// finish stores the outcome of op. It writes even when ctx is done: the
// outcome must outlive the work's cancellation. An operation already ended
// as orphaned keeps that outcome: its caller was told to start again.
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
	if _, err := r.db.Exec(writeCtx, `UPDATE operations SET end_time = ?, error = ?, response = ? WHERE name = ? AND end_time IS NULL`,
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
	op, heartbeat, err := r.read(ctx, name)
	if err != nil || op.Done() || r.now().Sub(heartbeat) < r.orphanAfter {
		return op, err
	}
	// Nobody has renewed it: the replica running it is gone. End it once
	// (the condition keeps a late heartbeat or a concurrent poll from
	// ending it twice) and read what was stored.
	aborted, err := proto.Marshal(status.New(codes.Aborted, "the replica running the operation stopped before it ended; start it again").Proto())
	if err != nil {
		return Operation{}, fmt.Errorf("get operation: %w", err)
	}
	if _, err := r.db.Exec(ctx, `UPDATE operations SET end_time = ?, error = ? WHERE name = ? AND end_time IS NULL AND heartbeat_time < ?`,
		sqldb.Micros(r.now()), aborted, name, sqldb.Micros(r.now().Add(-r.orphanAfter))); err != nil {
		return Operation{}, fmt.Errorf("get operation: %w", err)
	}
	r.logger.WarnContext(ctx, "operation orphaned: its replica stopped renewing it", slog.String("operation", name), slog.String("method", op.Method))
	op, _, err = r.read(ctx, name)
	return op, err
}

// read returns the stored operation named name and its last heartbeat.
func (r *Runner) read(ctx context.Context, name string) (Operation, time.Time, error) {
	var (
		op                 = Operation{Name: name}
		created, heartbeat int64
		ended              sql.NullInt64
		errBytes, resp     []byte
	)
	err := r.db.QueryRow(ctx, `SELECT method, create_time, heartbeat_time, end_time, error, response FROM operations WHERE name = ?`, name).
		Scan(&op.Method, &created, &heartbeat, &ended, &errBytes, &resp)
	if errors.Is(err, sql.ErrNoRows) {
		return Operation{}, time.Time{}, status.Errorf(codes.NotFound, "operation %s not found", name)
	}
	if err != nil {
		return Operation{}, time.Time{}, fmt.Errorf("get operation: %w", err)
	}
	op.CreateTime = sqldb.FromMicros(created)
	if ended.Valid {
		op.EndTime = sqldb.FromMicros(ended.Int64)
	}
	if len(errBytes) > 0 {
		op.Error = &spb.Status{}
		if err := proto.Unmarshal(errBytes, op.Error); err != nil {
			return Operation{}, time.Time{}, fmt.Errorf("get operation: read error: %w", err)
		}
	}
	if len(resp) > 0 {
		op.Response = &anypb.Any{}
		if err := proto.Unmarshal(resp, op.Response); err != nil {
			return Operation{}, time.Time{}, fmt.Errorf("get operation: read response: %w", err)
		}
	}
	return op, sqldb.FromMicros(heartbeat), nil
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
