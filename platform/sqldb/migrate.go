package sqldb

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var platformMigrations embed.FS

// Goose version tables: the platform's own schema is versioned apart from
// each service's, so both can number their files from 00001.
const (
	platformVersionTable = "platform_db_version"
	serviceVersionTable  = "goose_db_version"
)

// Migrate applies the platform's migrations (outbox, inbox), then the
// service's: goose SQL files at the root of migrations (or, as a
// convenience, in its "migrations" directory when the root has none, which
// is what `//go:embed migrations/*.sql` produces). migrations may be nil.
// Applied migrations are skipped, so Migrate is safe on every start.
func (db *DB) Migrate(ctx context.Context, migrations fs.FS) error {
	platform, err := fs.Sub(platformMigrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := db.migrate(ctx, platform, platformVersionTable); err != nil {
		return fmt.Errorf("migrate platform: %w", err)
	}
	if migrations == nil {
		return nil
	}
	migrations, err = migrationRoot(migrations)
	if err != nil {
		return fmt.Errorf("migrate service: %w", err)
	}
	if err := db.migrate(ctx, migrations, serviceVersionTable); err != nil {
		return fmt.Errorf("migrate service: %w", err)
	}
	return nil
}

func (db *DB) migrate(ctx context.Context, fsys fs.FS, table string) error {
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{
		goose.WithTableName(table),
		goose.WithDisableGlobalRegistry(true),
	}
	other := ".postgres.sql"
	if db.Dialect == Postgres {
		dialect, other = goose.DialectPostgres, ".sqlite.sql"
		// Replicas starting together must not race on the same migration.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("create migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.raw, dialectFS{FS: fsys, other: other}, opts...)
	if errors.Is(err, goose.ErrNoMigrations) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create goose provider: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return err
	}
	return nil
}

// dialectFS hides the migration files written for the other database:
// NAME.postgres.sql runs only on PostgreSQL and NAME.sqlite.sql only on
// SQLite, so a version whose SQL differs between them has a file for each.
type dialectFS struct {
	fs.FS
	other string // suffix of the other database's files
}

// Glob implements fs.GlobFS; goose finds its files with it.
func (d dialectFS) Glob(pattern string) ([]string, error) {
	names, err := fs.Glob(d.FS, pattern)
	if err != nil {
		return nil, err
	}
	kept := names[:0]
	for _, n := range names {
		if !strings.HasSuffix(n, d.other) {
			kept = append(kept, n)
		}
	}
	return kept, nil
}

func migrationRoot(fsys fs.FS) (fs.FS, error) {
	root, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	if len(root) > 0 {
		return fsys, nil
	}
	if nested, _ := fs.Glob(fsys, path.Join("migrations", "*.sql")); len(nested) > 0 {
		return fs.Sub(fsys, "migrations")
	}
	return fsys, nil
}
