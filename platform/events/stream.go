package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamOptions say how a deployment keeps its streams: how many copies
// and on what storage. A service's streams (its own, and the DEADLETTER
// and INGEST streams it creates) are made with them. Read from
// <PREFIX>NATS_STREAM_* (servicehost.Broker embeds them).
type StreamOptions struct {
	// Replicas is how many nodes of the NATS cluster keep each stream the
	// service creates: 1 on a single server (guanxi dev); 3 on a 3-node
	// cluster, so that a stream outlives one node and a leader change
	// takes seconds. A stream made with fewer replicas is raised to this
	// many at the next start. At most the cluster's size, at most 5.
	Replicas int `env:"REPLICAS" envDefault:"1"`
	// Storage is where streams keep their messages: "file" (on disk,
	// fsynced every nats-server sync_interval) or "memory" (lost when a
	// node stops: only with Replicas 3 or more, where the other nodes keep
	// the copies). An existing stream keeps the storage it was made with.
	Storage string `env:"STORAGE" envDefault:"file"`
}

// Validate reports settings NATS would refuse, or that lose data.
func (o StreamOptions) Validate() error {
	if o.Replicas < 0 || o.Replicas > 5 {
		return fmt.Errorf("stream replicas %d: want 1 to 5", o.Replicas)
	}
	switch strings.ToLower(o.Storage) {
	case "", "file":
	case "memory":
		if o.Replicas < 3 {
			return errors.New("stream storage memory needs 3 or more replicas: a single copy in memory is lost whenever its node stops")
		}
	default:
		return fmt.Errorf("stream storage %q: want file or memory", o.Storage)
	}
	return nil
}

func (o StreamOptions) storage() jetstream.StorageType {
	if strings.EqualFold(o.Storage, "memory") {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

func (o StreamOptions) replicas() int { return max(o.Replicas, 1) }

// EnsureStream creates the stream, or updates it to this configuration: file
// storage, one replica, the given subjects, and a DuplicateWindow dedupe
// window. Services use EnsureStreamWith and their deployment's options.
func EnsureStream(ctx context.Context, js jetstream.JetStream, name string, subjects ...string) error {
	return EnsureStreamWith(ctx, js, StreamOptions{}, name, subjects...)
}

// EnsureStreamWith creates the stream with opts, or updates an existing
// one to the given subjects, the DuplicateWindow and opts.Replicas (R1 to
// R3 when a deployment moves to a cluster: NATS copies the messages to the
// new replicas). Storage cannot change on an existing stream; it keeps
// what it has.
func EnsureStreamWith(ctx context.Context, js jetstream.JetStream, opts StreamOptions, name string, subjects ...string) error {
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("ensure stream %s: %w", name, err)
	}
	cfg := jetstream.StreamConfig{
		Name:       name,
		Subjects:   subjects,
		Storage:    opts.storage(),
		Replicas:   opts.replicas(),
		Duplicates: DuplicateWindow,
	}
	s, err := js.Stream(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		_, err = js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			// Another replica created it meanwhile: update it as below.
			return EnsureStreamWith(ctx, js, opts, name, subjects...)
		}
	case err == nil:
		have := s.CachedInfo().Config
		cfg.Storage = have.Storage
		want := have
		want.Subjects, want.Duplicates, want.Replicas = cfg.Subjects, cfg.Duplicates, cfg.Replicas
		_, err = js.UpdateStream(ctx, want)
	}
	if err != nil {
		return fmt.Errorf("ensure stream %s (%d replicas, %s storage): %w", name, cfg.Replicas, cfg.Storage, streamHint(err, cfg.Replicas))
	}
	return nil
}

// nats-server's error codes for a stream with more replicas than nodes
// (JSInsufficientResourcesErr, JSStreamReplicasNotSupportedErr).
const (
	errCodeInsufficientResources jetstream.ErrorCode = 10023
	errCodeReplicasNotSupported  jetstream.ErrorCode = 10074
)

// ErrStreamSettings marks a stream the NATS server will never accept as
// configured (more than one replica on a server that is not a cluster):
// retrying cannot help, the settings must change.
var ErrStreamSettings = errors.New("stream settings not possible on this NATS")

// streamHint adds what an operator needs to know to errors NATS gives for
// a deployment's settings.
func streamHint(err error, replicas int) error {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || replicas <= 1 {
		return err
	}
	switch {
	case apiErr.ErrorCode == errCodeReplicasNotSupported:
		return fmt.Errorf("%w: %w (NATS_STREAM_REPLICAS=%d needs a JetStream cluster of at least that many nodes)", ErrStreamSettings, err, replicas)
	case apiErr.ErrorCode == errCodeInsufficientResources || strings.Contains(strings.ToLower(apiErr.Description), "replicas"):
		// A cluster too small, or with nodes down right now.
		return fmt.Errorf("%w (NATS_STREAM_REPLICAS=%d needs that many JetStream nodes up)", err, replicas)
	}
	return err
}

// MinServerVersion is the oldest nats-server guanxi works with: its
// consumers filter on several subjects (FilterSubjects), which servers
// before 2.10 do not have.
const MinServerVersion = "2.10.0"

// CheckServerVersion returns an error naming the version found and the one
// needed when nc is connected to a nats-server older than
// MinServerVersion; nil when it is recent enough or not connected.
func CheckServerVersion(nc *nats.Conn) error {
	if nc == nil || !nc.IsConnected() {
		return nil
	}
	found := nc.ConnectedServerVersion()
	if found == "" {
		// Disconnected since the check above (a node restarting): nothing
		// is known about the next server yet.
		return nil
	}
	if !versionAtLeast(found, MinServerVersion) {
		return fmt.Errorf("nats server %s (%s) is version %s; guanxi needs nats-server %s or later (its consumers filter on several subjects): upgrade the server",
			nc.ConnectedServerName(), nc.ConnectedUrlRedacted(), found, MinServerVersion)
	}
	return nil
}

// versionAtLeast compares dotted versions ("2.9.10", "2.10.0-beta.1")
// numerically, major, minor and patch; an unreadable version is too old.
func versionAtLeast(have, want string) bool {
	h, ok1 := parseVersion(have)
	w, ok2 := parseVersion(want)
	if !ok1 || !ok2 {
		return false
	}
	for i := range h {
		if h[i] != w[i] {
			return h[i] > w[i]
		}
	}
	return true
}

func parseVersion(v string) ([3]int, bool) {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, false
		}
		out[i] = n
	}
	return out, true
}
