package channels

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// SMTPSecurity is how the connection to the SMTP server is protected.
type SMTPSecurity string

// The SMTP security modes.
const (
	// SMTPStartTLS upgrades the connection with STARTTLS and refuses a
	// server that does not offer it.
	SMTPStartTLS SMTPSecurity = "starttls"
	// SMTPOpportunistic upgrades with STARTTLS when the server offers it,
	// and otherwise goes on in plain text (credentials are then not sent).
	SMTPOpportunistic SMTPSecurity = "opportunistic"
	// SMTPImplicitTLS speaks TLS from the first byte (port 465, RFC 8314).
	SMTPImplicitTLS SMTPSecurity = "implicit"
	// SMTPNone never encrypts: only for a relay on the same host.
	SMTPNone SMTPSecurity = "none"
)

// SMTPConfig says where and as whom email goes out.
type SMTPConfig struct {
	// Addr is the server's host:port.
	Addr string
	// From is the sender address, e.g. "关系 CRM <care@example.com>".
	From string
	// Username and Password authenticate (the strongest mechanism both
	// sides speak; PLAIN and LOGIN only over TLS) when Username is set.
	Username string
	Password string
	// Security is how the connection is protected; empty picks implicit
	// TLS on port 465, mandatory STARTTLS when there are credentials to
	// protect, and opportunistic STARTTLS otherwise.
	Security SMTPSecurity
	// RootCAs, when set, are the only CAs trusted for the server's
	// certificate (a private relay); nil trusts the system's.
	RootCAs *x509.CertPool
	// Timeout bounds connecting and each command (30s when zero).
	Timeout time.Duration
	// IdleTimeout is how long an unused connection is kept open for the
	// next email (30s when zero): a batch goes out over one connection,
	// and a quiet server is not held open.
	IdleTimeout time.Duration
}

// LoadRootCAs reads a PEM bundle of CA certificates.
func LoadRootCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("smtp: read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("smtp: no certificate in %s", path)
	}
	return pool, nil
}

// SMTP delivers email through an SMTP server, keeping one connection
// open across emails. A 5xx reply is a permanent refusal; a 4xx reply or
// a network error is transient.
type SMTP struct {
	cfg    SMTPConfig
	from   *mail.Address
	client *gomail.Client

	mu   sync.Mutex
	conn *gosmtp.Client
	// gen counts connections, so that an idle timer closes only the
	// connection it was set for.
	gen  uint64
	idle *time.Timer
}

var _ domain.Sender = (*SMTP)(nil)

// NewSMTP returns an SMTP channel.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Addr == "" {
		return nil, errors.New("smtp: no server address")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from address: %w", err)
	}
	host, portText, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: server address: %w", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("smtp: server address %q: bad port", cfg.Addr)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	if cfg.Security == "" {
		switch {
		case port == 465:
			cfg.Security = SMTPImplicitTLS
		case cfg.Username != "":
			cfg.Security = SMTPStartTLS
		default:
			cfg.Security = SMTPOpportunistic
		}
	}
	opts := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: host, RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}),
	}
	switch cfg.Security {
	case SMTPStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case SMTPOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case SMTPImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case SMTPNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("smtp: security %q: want starttls, opportunistic, implicit or none", cfg.Security)
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return &SMTP{cfg: cfg, from: from, client: client}, nil
}

// Send delivers d: a UTF-8 text email, multipart/alternative with an HTML
// part when d has one, and with RFC 2369/8058 List-Unsubscribe headers
// when d carries an unsubscribe link.
func (s *SMTP) Send(ctx context.Context, d domain.Delivery) (domain.Receipt, error) {
	to, err := mail.ParseAddress(d.Address)
	if err != nil {
		return domain.Receipt{}, domain.Permanent(fmt.Errorf("invalid email address: %w", err))
	}
	msg, err := s.build(to, d)
	if err != nil {
		return domain.Receipt{}, domain.Permanent(err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idle != nil {
		s.idle.Stop()
	}
	for retried := false; ; retried = true {
		if s.conn == nil {
			conn, err := s.client.DialToSMTPClientWithContext(ctx)
			if err != nil {
				return domain.Receipt{}, classifyDial(err)
			}
			s.conn = conn
			s.gen++
		}
		err := s.client.SendWithSMTPClient(s.conn, msg)
		if err == nil {
			break
		}
		var se *gomail.SendError
		if errors.As(err, &se) && se.Reason == gomail.ErrConnCheck {
			// The kept connection died while idle (the server timed it
			// out): one fresh connection, then a failure is the
			// email's.
			s.closeConn()
			if !retried {
				continue
			}
		}
		return domain.Receipt{}, classifySend(err)
	}
	gen := s.gen
	s.idle = time.AfterFunc(s.cfg.IdleTimeout, func() { s.closeIdle(gen) })
	return domain.Receipt{ProviderResponse: "250 accepted by " + s.cfg.Addr}, nil
}

// Close ends the kept connection, if any.
func (s *SMTP) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idle != nil {
		s.idle.Stop()
	}
	s.closeConn()
	return nil
}

func (s *SMTP) closeIdle(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen {
		s.closeConn()
	}
}

// closeConn says QUIT (or just drops a dead connection); s.mu is held.
func (s *SMTP) closeConn() {
	if s.conn == nil {
		return
	}
	_ = s.client.CloseWithSMTPClient(s.conn)
	s.conn = nil
}

// build writes the email. Headers are encoded by go-mail per RFC 2047
// (the subject was rendered on one line, so no header can be injected).
func (s *SMTP) build(to *mail.Address, d domain.Delivery) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingB64))
	if err := m.FromFormat(s.from.Name, s.from.Address); err != nil {
		return nil, fmt.Errorf("from address: %w", err)
	}
	if err := m.AddToFormat(to.Name, to.Address); err != nil {
		return nil, fmt.Errorf("invalid email address: %w", err)
	}
	m.Subject(d.Subject)
	m.SetMessageIDWithValue(d.MessageID + "@guanxi")
	m.SetDate()
	m.SetGenHeader("X-Guanxi-Kind", d.Template)
	if d.UnsubscribeURL != "" {
		// RFC 8058 one-click needs an https link; a dev suite on
		// http still gets the RFC 2369 header, which mail clients
		// open in a browser.
		if err := m.SetListUnsubscribeOneClick(d.UnsubscribeURL); err != nil {
			m.SetListUnsubscribe(d.UnsubscribeURL)
			m.SetListUnsubscribePost()
		}
	}
	m.SetBodyString(gomail.TypeTextPlain, d.Body)
	if d.HTMLBody != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, d.HTMLBody)
	}
	return m, nil
}

// classifyDial reports a failure to connect, upgrade or authenticate:
// transient, since the server or its setup may come back.
func classifyDial(err error) error {
	return fmt.Errorf("smtp connect: %w", err)
}

// classifySend names the stage and the server's reply, without the
// recipient addresses go-mail adds (no personal data in failure reasons).
func classifySend(err error) error {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return fmt.Errorf("smtp: %w", err)
	}
	stage := map[gomail.SendErrReason]string{
		gomail.ErrSMTPMailFrom: "MAIL FROM", gomail.ErrSMTPRcptTo: "RCPT TO", gomail.ErrSMTPData: "DATA",
		gomail.ErrSMTPDataClose: "end of DATA", gomail.ErrWriteContent: "DATA", gomail.ErrSMTPReset: "RSET",
		gomail.ErrConnCheck: "connection", gomail.ErrNoUnencoded: "8BITMIME",
	}[se.Reason]
	if stage == "" {
		stage = "send"
	}
	reply := se.Error()
	if _, after, ok := strings.Cut(reply, ": "); ok {
		reply = after
	}
	if i := strings.Index(reply, ", affected"); i >= 0 {
		reply = reply[:i]
	}
	wrapped := fmt.Errorf("smtp %s: %s", stage, strings.TrimSpace(reply))
	if se.ErrorCode() >= 500 || se.Reason == gomail.ErrNoUnencoded {
		return domain.Permanent(wrapped)
	}
	return wrapped
}
