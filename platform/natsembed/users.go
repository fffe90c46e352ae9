package natsembed

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nkeys"

	"github.com/guanxi-crm/guanxi/platform/events"
)

// KeepSeed returns the public key of the NKey user whose seed is kept in
// path, making a new user and writing its seed there (readable by the
// owner only) when the file does not exist yet. The file is what a client
// hands to nats.NkeyOptionFromSeed (or the nats CLI's --nkey); deleting it
// revokes the user at the next start.
func KeepSeed(path string) (publicKey string, err error) {
	seed, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		kp, err := nkeys.CreateUser()
		if err != nil {
			return "", fmt.Errorf("make nats user %s: %w", path, err)
		}
		if seed, err = kp.Seed(); err != nil {
			return "", fmt.Errorf("make nats user %s: %w", path, err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", fmt.Errorf("make nats user %s: %w", path, err)
		}
		if err := os.WriteFile(path, append(seed, '\n'), 0o600); err != nil {
			return "", fmt.Errorf("make nats user %s: %w", path, err)
		}
	case err != nil:
		return "", fmt.Errorf("read nats user %s: %w", path, err)
	}
	kp, err := nkeys.FromSeed(bytes.TrimSpace(seed))
	if err != nil {
		return "", fmt.Errorf("read nats user %s: %w", path, err)
	}
	defer kp.Wipe()
	return kp.PublicKey()
}

// InboxPrefix is the reply-subject prefix of user name's connections
// (events.NATSAuth.InboxPrefix): _INBOX.<name>. A user may subscribe under
// its own prefix only, so it reads no other user's replies or pull-consumer
// deliveries.
func InboxPrefix(name string) string { return "_INBOX." + name }

// ServiceUser is the user of a guanxi service: it may publish to its own
// stream's subjects (publish) and nothing else of the application's, plus
// what every JetStream client needs:
//
//   - $JS.API.> to ensure its stream and its durable consumers, pull
//     messages and read the dead-letter stream;
//   - $JS.ACK.> to acknowledge what it consumed;
//   - deadletter.> to dead-letter what it cannot handle;
//
// and it may subscribe only under its InboxPrefix, where JetStream answers
// and delivers.
func ServiceUser(name, publicKey string, publish ...string) User {
	return User{
		Name:      name,
		PublicKey: publicKey,
		Publish:   append(append([]string(nil), publish...), "$JS.API.>", "$JS.ACK.>", events.DeadLetterSubjectPrefix+">"),
		Subscribe: []string{InboxPrefix(name) + ".>"},
	}
}

// PublisherUser is the user of an integration that only publishes, such as
// a call center publishing ingest events: it may publish to subjects and
// subscribe only under its InboxPrefix, for JetStream's publish
// acknowledgements and ingest results.
func PublisherUser(name, publicKey string, subjects ...string) User {
	return User{
		Name:      name,
		PublicKey: publicKey,
		Publish:   append([]string(nil), subjects...),
		Subscribe: []string{InboxPrefix(name) + ".>"},
	}
}

// OpsUser is the user of operators' tools (`guanxi events`): it may read
// subjects (the application's events and the dead letters), use JetStream's
// API to list and delete dead letters, and publish to subjects, to replay a
// dead letter to the subject it came from. It is a privileged credential:
// it can inject events any service will act on.
func OpsUser(name, publicKey string, subjects ...string) User {
	return User{
		Name:      name,
		PublicKey: publicKey,
		Publish:   append(append([]string(nil), subjects...), "$JS.API.>"),
		Subscribe: append(append([]string(nil), subjects...), InboxPrefix(name)+".>"),
	}
}
