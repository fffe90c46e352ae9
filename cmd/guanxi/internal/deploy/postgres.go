package deploy

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// CreateDatabase creates a database with a fresh name (prefix and random
// hex) on the server of adminURL and returns its URL and a function that
// drops it.
func CreateDatabase(ctx context.Context, adminURL, prefix string) (string, func() error, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("postgres url: %w", err)
	}
	name := prefix + randomHex(5)
	if err := AdminExec(ctx, adminURL, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() error {
		// A fresh context: the drop must run even when the run was
		// interrupted.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return AdminExec(ctx, adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// AdminExec runs sql on the server of adminURL (CREATE DATABASE, ...).
func AdminExec(ctx context.Context, adminURL, sql string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
