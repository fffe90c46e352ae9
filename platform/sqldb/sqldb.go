// Package sqldb is the one database/sql layer for SQLite (embedded, dev) and
// PostgreSQL (production): opening by URL, `?` placeholders on both,
// transactions with after-commit hooks, and goose migrations.
//
// Times are stored as BIGINT unix microseconds UTC (see Micros), which
// compare and sort the same way on both databases.
package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect says which database a DB talks to.
type Dialect int

// Supported dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	default:
		return fmt.Sprintf("Dialect(%d)", int(d))
	}
}

// DB is a database handle that knows its dialect.
type DB struct {
	raw *sql.DB
	// Dialect is the database kind, for the few queries that differ.
	Dialect Dialect
}

// Open connects to the database named by rawURL and pings it:
//
//	sqlite:///abs/path/file.db   absolute path
//	sqlite://relative/path.db    relative to the working directory
//	sqlite::memory:              private in-memory database (one connection)
//	postgres://... postgresql://...
//
// A PostgreSQL URL may carry pool_max_conns=N (default 20): the most
// connections this process opens. N replicas of a service open up to N
// times that, which the server's max_connections must allow.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	var (
		db  *DB
		err error
	)
	switch {
	case rawURL == "sqlite::memory:":
		db, err = openSQLiteMemory()
	case strings.HasPrefix(rawURL, "sqlite://"):
		db, err = openSQLiteFile(strings.TrimPrefix(rawURL, "sqlite://"))
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		db, err = openPostgres(rawURL)
	default:
		return nil, fmt.Errorf("open db: unsupported url %q (want sqlite:// or postgres://)", redact(rawURL))
	}
	if err != nil {
		return nil, fmt.Errorf("open db: %w", err)
	}
	if err := db.ping(ctx); err != nil {
		db.raw.Close()
		return nil, fmt.Errorf("open db: ping %s: %w", db.Dialect, err)
	}
	return db, nil
}

// ping checks the first connection. Switching a new SQLite file to WAL
// takes an exclusive lock that SQLite's busy timeout does not wait for, so
// two processes opening the same new file at once can see SQLITE_BUSY:
// that is retried for a few seconds.
func (db *DB) ping(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := db.raw.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func isBusy(err error) bool {
	var sqliteErr *sqlite.Error
	return errors.As(err, &sqliteErr) && sqliteErr.Code()&0xff == sqlite3.SQLITE_BUSY
}

// sqliteParams are applied to every SQLite connection. _txlock=immediate
// makes BEGIN take the write lock up front, so two write transactions queue
// on busy_timeout instead of deadlocking on a read-to-write upgrade.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"

func openSQLiteFile(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite url has no path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create sqlite dir: %w", err)
		}
	}
	// A plain path (no "file:" prefix) keeps SQLite from URI-decoding it;
	// the driver strips the query parameters it understands.
	dsn := path + "?" + sqliteParams + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	raw, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// WAL allows concurrent readers next to one writer. A few connections
	// serve reads in parallel; writers queue on the database lock. Keeping
	// them open avoids re-running the pragmas on every checkout.
	raw.SetMaxOpenConns(4)
	raw.SetMaxIdleConns(4)
	raw.SetConnMaxIdleTime(0)
	raw.SetConnMaxLifetime(0)
	return &DB{raw: raw, Dialect: SQLite}, nil
}

func openSQLiteMemory() (*DB, error) {
	// A uniquely named shared-cache database lives as long as a connection
	// to it does; one connection that is never recycled keeps it alive and
	// private to this DB.
	name := "guanxi-" + randomHex(8)
	raw, err := sql.Open("sqlite", "file:"+name+"?mode=memory&cache=shared&"+sqliteParams)
	if err != nil {
		return nil, err
	}
	raw.SetMaxOpenConns(1)
	raw.SetMaxIdleConns(1)
	raw.SetConnMaxIdleTime(0)
	raw.SetConnMaxLifetime(0)
	return &DB{raw: raw, Dialect: SQLite}, nil
}

func openPostgres(rawURL string) (*DB, error) {
	maxConns := 20
	if u, err := url.Parse(rawURL); err == nil && u.Query().Has("pool_max_conns") {
		q := u.Query()
		n, err := strconv.Atoi(q.Get("pool_max_conns"))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("pool_max_conns %q is not a positive number", q.Get("pool_max_conns"))
		}
		maxConns = n
		q.Del("pool_max_conns") // not a server setting
		u.RawQuery = q.Encode()
		rawURL = u.String()
	}
	raw, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, err
	}
	raw.SetMaxOpenConns(maxConns)
	raw.SetMaxIdleConns(min(10, maxConns))
	raw.SetConnMaxIdleTime(5 * time.Minute)
	raw.SetConnMaxLifetime(time.Hour)
	return &DB{raw: raw, Dialect: Postgres}, nil
}

// SQL returns the underlying *sql.DB, for code that needs database/sql
// directly (placeholders are then the dialect's own).
func (db *DB) SQL() *sql.DB { return db.raw }

// Close closes the database.
func (db *DB) Close() error {
	if err := db.raw.Close(); err != nil {
		return fmt.Errorf("close db: %w", err)
	}
	return nil
}

// Rebind rewrites `?` placeholders into the dialect's form ($1, $2, ... on
// PostgreSQL). Queries must not contain `?` inside literals or identifiers.
func (db *DB) Rebind(q string) string { return rebind(db.Dialect, q) }

func rebind(d Dialect, q string) string {
	if d != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		n++
		fmt.Fprintf(&b, "$%d", n)
	}
	return b.String()
}

// Exec runs a statement with `?` placeholders; in the context of a batch
// (see InBatch) it runs in the batch.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if b := db.batchOf(ctx); b != nil {
		return b.exec(ctx, query, args...)
	}
	return db.raw.ExecContext(ctx, db.Rebind(query), args...)
}

// Query runs a query with `?` placeholders; in the context of a batch (see
// InBatch) it runs in the batch.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if b := db.batchOf(ctx); b != nil {
		return b.query(ctx, query, args...)
	}
	return db.raw.QueryContext(ctx, db.Rebind(query), args...)
}

// QueryRow runs a single-row query with `?` placeholders; in the context of
// a batch (see InBatch) it runs in the batch.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if b := db.batchOf(ctx); b != nil {
		return b.tx.QueryRow(ctx, query, args...)
	}
	return db.raw.QueryRowContext(ctx, db.Rebind(query), args...)
}

// Tx is a transaction with `?` placeholders and after-commit hooks.
type Tx struct {
	raw *sql.Tx
	// conn is the connection the transaction runs on, for the driver-level
	// bulk load of InsertRows.
	conn        *sql.Conn
	dialect     Dialect
	afterCommit []func()
}

// Dialect returns the database kind of the transaction.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// SQL returns the underlying *sql.Tx.
func (tx *Tx) SQL() *sql.Tx { return tx.raw }

// Rebind rewrites `?` placeholders for the transaction's dialect.
func (tx *Tx) Rebind(q string) string { return rebind(tx.dialect, q) }

// Exec runs a statement with `?` placeholders.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.raw.ExecContext(ctx, tx.Rebind(query), args...)
}

// Query runs a query with `?` placeholders.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.raw.QueryContext(ctx, tx.Rebind(query), args...)
}

// QueryRow runs a single-row query with `?` placeholders.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.raw.QueryRowContext(ctx, tx.Rebind(query), args...)
}

// copyMinRows is the smallest batch that InsertRows copies on PostgreSQL.
// COPY costs two round trips where an INSERT costs one, so it only pays
// once the rows are many; the outbox row of a single recorded event is
// the common case below it.
const copyMinRows = 32

// InsertRows inserts rows (each one value per column) into table the fastest
// way the database offers: COPY on PostgreSQL for many rows, multi-row
// INSERT statements otherwise. Bulk writers such as imports use it; values
// must have the Go types of their columns (string, int64, int, float64,
// []byte, nil).
func (tx *Tx) InsertRows(ctx context.Context, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if tx.dialect == Postgres && len(rows) >= copyMinRows {
		return tx.conn.Raw(func(dc any) error {
			c, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("insert rows: driver connection is %T, not pgx", dc)
			}
			_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
			return err
		})
	}
	return InsertRows(ctx, tx, table, columns, rows)
}

// maxParams keeps a multi-row statement under SQLite's limit of 32766 bound
// parameters.
const maxParams = 30000

// Execer runs statements: a *DB or a *Tx.
type Execer interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// InsertRows inserts rows with multi-row INSERT statements, as few as the
// parameter limit allows: one round trip per few thousand rows instead of
// one per row. It works on both databases and outside transactions; within
// one, Tx.InsertRows is faster on PostgreSQL.
func InsertRows(ctx context.Context, db Execer, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(columns)
	one := "(" + strings.Repeat("?, ", width-1) + "?)"
	per := maxParams / width
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), per)]
		rows = rows[len(chunk):]
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES ")
		args := make([]any, 0, len(chunk)*width)
		for i, r := range chunk {
			if len(r) != width {
				return fmt.Errorf("insert into %s: row has %d values for %d columns", table, len(r), width)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(one)
			args = append(args, r...)
		}
		if _, err := db.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// AfterCommit registers fn to run once the transaction has committed; it is
// dropped on rollback. The outbox uses it to wake its relay only for events
// that really exist.
func (tx *Tx) AfterCommit(fn func()) {
	tx.afterCommit = append(tx.afterCommit, fn)
}

// InTx runs fn in a transaction: commit when fn returns nil, rollback when it
// returns an error or panics (the panic becomes the returned error). After a
// successful commit the AfterCommit hooks run in registration order. In the
// context of a batch (see InBatch) fn runs in the batch's transaction, and
// its hooks run after the batch commits.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if b := db.batchOf(ctx); b != nil {
		return b.inTx(fn)
	}
	conn, err := db.raw.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin tx: %w", err)
	}
	// Closing returns the connection to the pool; it runs after the
	// transaction has ended either way.
	defer conn.Close()
	raw, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin tx: %w", err)
	}
	tx := &Tx{raw: raw, conn: conn, dialect: db.Dialect}
	committed := false
	defer func() {
		if committed {
			return
		}
		if r := recover(); r != nil {
			err = fmt.Errorf("tx panic: %v", r)
		}
		if rbErr := raw.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("rollback tx: %w", rbErr))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := raw.Commit(); err != nil {
		return fmt.Errorf("commit tx: %w", err)
	}
	committed = true
	for _, hook := range tx.afterCommit {
		hook()
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique or primary key
// constraint violation on either database.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		code := sqliteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return false
}

// Condition is a WHERE condition and its arguments.
type Condition struct {
	SQL  string
	Args []any
}

// OneOf returns the conditions that col is one of vals, each for a query
// of its own. PostgreSQL takes the whole list as one array: with an IN
// list of a mark per value, the plan it keeps once it stops planning each
// call afresh can assume the list matches much of the table and read it
// whole (5,000-row import batches made every external id lookup a
// sequential scan of the growing table), where an array is assumed short;
// and one statement serves every length. SQLite takes IN lists of at most
// 500 marks.
func (d Dialect) OneOf(col string, vals []string) []Condition {
	if len(vals) == 0 {
		return nil
	}
	if d == Postgres {
		return []Condition{{col + " = ANY(?)", []any{vals}}}
	}
	var out []Condition
	for len(vals) > 0 {
		n := min(len(vals), 500)
		args := make([]any, n)
		for i, v := range vals[:n] {
			args[i] = v
		}
		out = append(out, Condition{col + " IN (" + strings.Repeat("?, ", n-1) + "?)", args})
		vals = vals[n:]
	}
	return out
}

// Micros converts t to the storage form: unix microseconds UTC.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros converts a stored unix-microseconds value back to a UTC time.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// redact hides a password in a URL for error messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable url>"
	}
	return u.Redacted()
}

// ValuesList returns the VALUES list of a multi-row statement, one
// "(?, ?, ...)" per row, and its arguments in order. The rows must be few
// enough for one statement (a consumer batch is; see InsertRows for more).
func ValuesList(rows [][]any) (string, []any) {
	var b strings.Builder
	var args []any
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + strings.Repeat("?, ", len(r)-1) + "?)")
		args = append(args, r...)
	}
	return b.String(), args
}
