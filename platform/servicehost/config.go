package servicehost

import (
	"time"

	"github.com/guanxi-crm/guanxi/platform/events"
)

// Broker is the part of a service's configuration that says where and how
// it reaches NATS. Every service that publishes or consumes events embeds
// it in its Config, so the variables are read under the service's own
// prefix (GUANXI_<NAME>_NATS_URL, GUANXI_<NAME>_NATS_*): caarlos0/env
// reads an embedded struct's fields without a prefix of their own, and
// field promotion keeps cfg.NATSURL and cfg.NATS working.
type Broker struct {
	NATSURL string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4333"`
	// NATS is how the service authenticates to NATS: credentials (an NKey
	// seed or a .creds file), TLS and inbox prefix, read from
	// GUANXI_<NAME>_NATS_* (see events.NATSAuth).
	NATS events.NATSAuth `envPrefix:"NATS_"`
	// Streams is how the streams the service creates are kept: replicas
	// and storage, read from GUANXI_<NAME>_NATS_STREAM_* (see
	// events.StreamOptions). Every service of a deployment should say the
	// same.
	Streams events.StreamOptions `envPrefix:"NATS_STREAM_"`

	// Consumers is how the service's consumers batch their events and how
	// long their inbox remembers them.
	Consumers
}

// Consumers is the part of a service's configuration that tunes its event
// consumers (see events.ConsumerConfig), embedded in Broker.
type Consumers struct {
	// ConsumerBatch is the most events a consumer handles in one database
	// transaction, each still deduplicated by the inbox, acknowledged once
	// it has committed; a backlog drains in full batches, a trickle one by
	// one. 1 handles every event in a transaction of its own.
	ConsumerBatch int `env:"CONSUMER_BATCH" envDefault:"1000"`
	// InboxRetention is how long the inbox remembers a handled event, the
	// dedupe horizon: older entries are deleted hourly. It must outlast
	// every way an event comes back: a redelivery (at most MaxDeliver
	// times AckWait plus backoff, a quarter of an hour), an outbox row
	// published again after a crash, and a dead letter replayed by an
	// operator. 0 keeps entries for ever.
	InboxRetention time.Duration `env:"INBOX_RETENTION" envDefault:"72h"`
}

// CustomerService is the part of the configuration of a service keeping
// data by customer that says where the customer service is: Options'
// CustomerAddr, for the team scope, and whatever else the service asks it.
// Embedded in such a service's Config, it is read as
// GUANXI_<NAME>_CUSTOMER_ADDR.
type CustomerService struct {
	// CustomerAddr is the customer service's gRPC address: it is asked
	// whether an agent or a manager may see a customer (without it they
	// are refused here), and the service calls it for whatever else it
	// needs of customers.
	CustomerAddr string `env:"CUSTOMER_ADDR" envDefault:"127.0.0.1:7101"`
}

// Jobs is the part of the configuration of a service with background jobs
// that says how its replicas share them (see Host.Every and
// platform/sqldb/lease). Embedded in the service's Config, it is read as
// GUANXI_<NAME>_JOB_LEASE.
type Jobs struct {
	// JobLease is how long a replica holds a background job without
	// renewing it: the holder renews every third of it, and when a replica
	// dies (kill -9) another takes its jobs over within this time plus a
	// quarter of it (or of the job's period, if shorter). Shorter means
	// faster takeover and more renewals; it must exceed the database's
	// longest stall.
	JobLease time.Duration `env:"JOB_LEASE" envDefault:"30s"`
}
