package channels

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/services/notification/internal/domain"
)

// SMSConfig configures the SMS provider adapter: a provider with an HTTP
// API taking one message per POST.
type SMSConfig struct {
	// URL receives a POST of {"to", "text", "client_ref"} as JSON.
	URL string
	// AccountID and APIKey are the provider credentials, sent as HTTP basic
	// authentication.
	AccountID string
	APIKey    string
	// Sender is the sender id or number shown to the customer.
	Sender  string
	Timeout time.Duration
	Client  *http.Client
}

// SMS delivers text messages through an HTTP provider. 2xx is accepted;
// 408, 429 and 5xx (and network errors) are transient; any other 4xx is a
// permanent refusal (an invalid number, a rejected text).
type SMS struct {
	cfg SMSConfig
}

var _ domain.Sender = (*SMS)(nil)

// NewSMS returns an SMS channel.
func NewSMS(cfg SMSConfig) (*SMS, error) {
	if !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		return nil, errors.New("sms: provider url must be http(s)")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	return &SMS{cfg: cfg}, nil
}

// Send posts d to the provider.
func (s *SMS) Send(ctx context.Context, d domain.Delivery) (domain.Receipt, error) {
	body, err := json.Marshal(map[string]string{"to": d.Address, "text": d.Body, "from": s.cfg.Sender, "client_ref": d.MessageID})
	if err != nil {
		return domain.Receipt{}, domain.Permanent(fmt.Errorf("sms: encode: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return domain.Receipt{}, domain.Permanent(fmt.Errorf("sms: request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	if s.cfg.AccountID != "" {
		req.SetBasicAuth(s.cfg.AccountID, s.cfg.APIKey)
	}
	return doHTTP(s.cfg.Client, req, "sms")
}

// WebhookConfig configures the webhook channel.
type WebhookConfig struct {
	// URL receives every webhook message as a JSON POST.
	URL string
	// Secret keys the HMAC-SHA256 signature.
	Secret  string
	Timeout time.Duration
	Client  *http.Client
	// Now is the clock of the signature timestamp.
	Now func() time.Time
}

// Webhook delivers messages (agent notices) as JSON POSTs signed with
// HMAC-SHA256: X-Guanxi-Signature is "sha256=" and the hex MAC of
// X-Guanxi-Timestamp, ".", and the body, so a receiver can check both the
// sender and the freshness.
type Webhook struct {
	cfg WebhookConfig
}

var _ domain.Sender = (*Webhook)(nil)

// NewWebhook returns a webhook channel.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		return nil, errors.New("webhook: url must be http(s)")
	}
	if cfg.Secret == "" {
		return nil, errors.New("webhook: a signing secret is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Webhook{cfg: cfg}, nil
}

// WebhookPayload is the JSON body of a webhook message.
type WebhookPayload struct {
	MessageID  string `json:"message_id"`
	Kind       string `json:"kind"`
	AgentID    string `json:"agent_id,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
	Locale     string `json:"locale"`
	Subject    string `json:"subject"`
	Body       string `json:"body"`
}

// Sign returns the signature header value of body sent at timestamp.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Send posts d, signed.
func (w *Webhook) Send(ctx context.Context, d domain.Delivery) (domain.Receipt, error) {
	body, err := json.Marshal(WebhookPayload{MessageID: d.MessageID, Kind: d.Template, AgentID: d.AgentID, CustomerID: d.CustomerID,
		Locale: d.Locale, Subject: d.Subject, Body: d.Body})
	if err != nil {
		return domain.Receipt{}, domain.Permanent(fmt.Errorf("webhook: encode: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return domain.Receipt{}, domain.Permanent(fmt.Errorf("webhook: request: %w", err))
	}
	ts := strconv.FormatInt(w.cfg.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Guanxi-Timestamp", ts)
	req.Header.Set("X-Guanxi-Signature", Sign(w.cfg.Secret, ts, body))
	req.Header.Set("X-Guanxi-Message-Id", d.MessageID)
	return doHTTP(w.cfg.Client, req, "webhook")
}

// doHTTP sends req and classifies the answer.
func doHTTP(client *http.Client, req *http.Request, what string) (domain.Receipt, error) {
	resp, err := client.Do(req)
	if err != nil {
		return domain.Receipt{}, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	answer := strings.TrimSpace(resp.Status + " " + strings.TrimSpace(string(raw)))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return domain.Receipt{ProviderResponse: answer}, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return domain.Receipt{}, fmt.Errorf("%s: %s", what, answer)
	default:
		return domain.Receipt{}, domain.Permanent(fmt.Errorf("%s: %s", what, answer))
	}
}
