package channels

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// SMTPConfig says where and as whom email goes out.
type SMTPConfig struct {
	// Addr is the server's host:port.
	Addr string
	// From is the sender address, e.g. "关系 CRM <care@example.com>".
	From string
	// Username and Password authenticate with PLAIN when Username is set
	// (net/smtp allows it only over TLS or to localhost).
	Username string
	Password string
	// Timeout bounds one delivery (30s when zero).
	Timeout time.Duration
}

// SMTP delivers email through an SMTP server. A 5xx reply is a permanent
// refusal; a 4xx reply or a network error is transient.
type SMTP struct {
	cfg SMTPConfig
}

var _ domain.Sender = (*SMTP)(nil)

// NewSMTP returns an SMTP channel.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Addr == "" {
		return nil, errors.New("smtp: no server address")
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("smtp: from address: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg}, nil
}

// Send delivers d as a plain-text UTF-8 email.
func (s *SMTP) Send(ctx context.Context, d domain.Delivery) (domain.Receipt, error) {
	from, _ := mail.ParseAddress(s.cfg.From) // checked in NewSMTP
	to, err := mail.ParseAddress(d.Address)
	if err != nil {
		return domain.Receipt{}, domain.Permanent(fmt.Errorf("invalid email address: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return domain.Receipt{}, fmt.Errorf("smtp connect: %w", err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return domain.Receipt{}, classifySMTP("greeting", err)
	}
	defer c.Close()
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, host)); err != nil {
			return domain.Receipt{}, classifySMTP("auth", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return domain.Receipt{}, classifySMTP("MAIL FROM", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return domain.Receipt{}, classifySMTP("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return domain.Receipt{}, classifySMTP("DATA", err)
	}
	if _, err := w.Write(buildEmail(from, to, d)); err != nil {
		return domain.Receipt{}, classifySMTP("DATA", err)
	}
	if err := w.Close(); err != nil {
		return domain.Receipt{}, classifySMTP("end of DATA", err)
	}
	_ = c.Quit()
	return domain.Receipt{ProviderResponse: "250 accepted by " + s.cfg.Addr}, nil
}

// buildEmail writes the message: headers encoded per RFC 2047 (the
// subject was rendered on one line, so no header can be injected) and a
// base64 UTF-8 body.
func buildEmail(from, to *mail.Address, d domain.Delivery) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from.String())
	h("To", to.String())
	h("Subject", mime.BEncoding.Encode("utf-8", d.Subject))
	h("Message-ID", "<"+d.MessageID+"@guanxi>")
	h("X-Guanxi-Kind", d.Template)
	h("MIME-Version", "1.0")
	h("Content-Type", `text/plain; charset="utf-8"`)
	h("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(d.Body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

func classifySMTP(stage string, err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		wrapped := fmt.Errorf("smtp %s: %d %s", stage, tp.Code, strings.TrimSpace(tp.Msg))
		if tp.Code >= 500 {
			return domain.Permanent(wrapped)
		}
		return wrapped
	}
	return fmt.Errorf("smtp %s: %w", stage, err)
}
