package suite

import (
	"path/filepath"

	"github.com/guanxi-crm/guanxi/platform/events"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	loyaltyv1 "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
	segmentationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
)

// NATSUsersDir is the folder of the data dir keeping the NKey seeds of the
// embedded NATS server's users, one <user>.nk per service and
// IntegrationNATSUser's; made at the first start, like the token secret.
const NATSUsersDir = "nats-users"

// IntegrationNATSUser is the NATS user of call-center integrations: it may
// publish to ingest.> and nothing else, and read its own inbox
// (natsembed.InboxPrefix) for JetStream acknowledgements and ingest
// results.
const IntegrationNATSUser = "integration"

// OpsNATSUser is the NATS user of operators' tools (`guanxi events`,
// natsembed.OpsUser): it reads every stream's events and the dead letters
// and may replay a dead letter to its subject. Its seed is
// <data>/nats-users/ops.nk.
const OpsNATSUser = "ops"

// opsSubjects are the subjects OpsNATSUser reads and replays to: every
// stream's, the dead letters'.
var opsSubjects = []string{
	customerv1.StreamSubjects, interactionv1.StreamSubjects, interactionv1.IngestStreamSubjects,
	loyaltyv1.StreamSubjects, segmentationv1.StreamSubjects, notificationv1.StreamSubjects,
	events.DeadLetterSubjectPrefix + ">",
}

// natsPublish is what each service may publish besides what every
// JetStream client needs (natsembed.ServiceUser): its own stream's
// subjects.
var natsPublish = map[string][]string{
	"customer": {customerv1.StreamSubjects},
	// And an ingest event's result, to the reply subject its publisher
	// named (Ingest-Reply-To), an inbox.
	"interaction":  {interactionv1.StreamSubjects, "_INBOX.>"},
	"loyalty":      {loyaltyv1.StreamSubjects},
	"segmentation": {segmentationv1.StreamSubjects},
	"notification": {notificationv1.StreamSubjects},
}

// natsSetup is who may use the embedded NATS server, and how each service
// connects to it.
type natsSetup struct {
	users []natsembed.User
	// auth is each service's connection setup, by name.
	auth map[string]events.NATSAuth
	// integrationSeed is the NKey seed file of IntegrationNATSUser,
	// opsSeed OpsNATSUser's.
	integrationSeed, opsSeed string
}

// setupNATS keeps an NKey user per service, one for integrations and one
// for operators in the data dir, made at the first start.
func setupNATS(dataDir string) (natsSetup, error) {
	dir := filepath.Join(dataDir, NATSUsersDir)
	s := natsSetup{auth: map[string]events.NATSAuth{}}
	for name, publish := range natsPublish {
		seed := filepath.Join(dir, name+".nk")
		key, err := natsembed.KeepSeed(seed)
		if err != nil {
			return s, err
		}
		s.users = append(s.users, natsembed.ServiceUser(name, key, publish...))
		s.auth[name] = events.NATSAuth{NKeyFile: seed, InboxPrefix: natsembed.InboxPrefix(name)}
	}
	s.integrationSeed = filepath.Join(dir, IntegrationNATSUser+".nk")
	key, err := natsembed.KeepSeed(s.integrationSeed)
	if err != nil {
		return s, err
	}
	s.users = append(s.users, natsembed.PublisherUser(IntegrationNATSUser, key, interactionv1.IngestStreamSubjects))
	s.opsSeed = filepath.Join(dir, OpsNATSUser+".nk")
	if key, err = natsembed.KeepSeed(s.opsSeed); err != nil {
		return s, err
	}
	s.users = append(s.users, natsembed.OpsUser(OpsNATSUser, key, opsSubjects...))
	return s, nil
}

// NATSUsers are the NATS users of a suite whose NKey seeds are kept in
// dataDir/NATSUsersDir (made at the first call): the users a NATS server
// (or every node of a cluster) admits, each service's connection setup by
// name, and the seed file of IntegrationNATSUser. `guanxi chaos` runs the
// services as separate processes with them.
func NATSUsers(dataDir string) (users []natsembed.User, auth map[string]events.NATSAuth, integrationSeed string, err error) {
	s, err := setupNATS(dataDir)
	return s.users, s.auth, s.integrationSeed, err
}

// natsHost is where the embedded NATS server listens: the suite's host
// when that is loopback, else 127.0.0.1. Services reach it on this
// machine, and integrations elsewhere need a NATS server of their own.
func natsHost(host string) string {
	if host != "" && natsembed.IsLoopback(host) {
		return host
	}
	return "127.0.0.1"
}
