package events

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/guanxi-crm/guanxi/platform/tlsconfig"
)

// NATSAuth says how a process proves who it is to NATS and secures the
// connection. It is read from <PREFIX>NATS_* variables (a service's
// config embeds it with envPrefix "NATS_"), and everything is optional:
// an empty NATSAuth connects anonymously in plaintext, as to a local
// broker without authorization. Of the credentials, the first set wins:
// CredsFile (a JWT and NKey seed, as nsc writes it), NKeyFile (an NKey
// user's seed), User and Password, Token.
type NATSAuth struct {
	// CredsFile is a .creds file: the user's JWT and NKey seed, for a
	// server run in operator (decentralized JWT) mode.
	CredsFile string `env:"CREDS_FILE"`
	// NKeyFile holds an NKey user's seed ("SU..."), for a server listing
	// its users' public keys, as guanxi dev's embedded server does.
	NKeyFile string `env:"NKEY_FILE"`
	// User and Password authenticate with a user name and password, for a
	// server configured with plain users.
	User     string `env:"USER"`
	Password string `env:"PASSWORD" secret:"true" desc:"the password of User"`
	// Token authenticates with a server's single authorization token.
	Token string `env:"TOKEN" secret:"true"`
	// InboxPrefix replaces _INBOX as the prefix of the connection's reply
	// subjects. With permissions that let each user subscribe only under
	// its own prefix (_INBOX.<user>.>), no client can read the replies and
	// pull-consumer deliveries of another, which a shared _INBOX.> allows.
	InboxPrefix string `env:"INBOX_PREFIX"`
	// TLS: the CA the server's certificate is verified against and, for a
	// server that requires client certificates, this process's own
	// (<PREFIX>NATS_TLS_CA_FILE, _CERT_FILE, _KEY_FILE). A tls:// URL, or
	// a server that requires TLS, uses TLS even without a CA file, against
	// the system's roots.
	TLS tlsconfig.Files `envPrefix:"TLS_"`
}

// Options are the nats.Options of a, for nats.Connect.
func (a NATSAuth) Options() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case a.CredsFile != "":
		opts = append(opts, nats.UserCredentials(a.CredsFile))
	case a.NKeyFile != "":
		opt, err := nats.NkeyOptionFromSeed(a.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats nkey file: %w", err)
		}
		opts = append(opts, opt)
	case a.User != "":
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	case a.Token != "":
		opts = append(opts, nats.Token(a.Token))
	}
	if a.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(a.InboxPrefix))
	}
	if (a.TLS.CertFile == "") != (a.TLS.KeyFile == "") {
		return nil, errors.New("the NATS TLS certificate and key files go together")
	}
	tlsCfg, err := a.TLS.Client()
	if err != nil {
		return nil, fmt.Errorf("nats tls: %w", err)
	}
	if tlsCfg != nil {
		opts = append(opts, nats.Secure(tlsCfg))
	}
	return opts, nil
}

// Connect connects to NATS, reconnecting forever after a connection is lost
// and logging disconnects and reconnects, and returns a JetStream handle.
// extra are added last (credentials, TLS: see NATSAuth.Options).
func Connect(url, name string, logger *slog.Logger, extra ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	if logger == nil {
		logger = slog.Default()
	}
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil means we closed the connection ourselves
				logger.Warn("nats disconnected", slog.Any("error", err))
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			logger.Info("nats reconnected", slog.String("url", c.ConnectedUrlRedacted()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			// Permission violations arrive here too: a publish the
			// server refused is otherwise silent.
			logger.Error("nats async error", slog.String("subject", subject), slog.Any("error", err))
		}),
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("connect jetstream: %w", err)
	}
	return nc, js, nil
}
