package config_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/guanxi-crm/guanxi/platform/config"
)

type testConfig struct {
	DatabaseURL string        `env:"DB_URL" envDefault:"sqlite://data/customer.db"`
	NATSURL     string        `env:"NATS_URL" envDefault:"nats://127.0.0.1:4333"`
	APIKey      string        `env:"API_KEY" secret:"true"`
	Timeout     time.Duration `env:"TIMEOUT" envDefault:"5s"`
	Port        int           `env:"PORT" envDefault:"7101"`
	Tags        []string      `env:"TAGS" envSeparator:","`
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ map[string]string
		want    testConfig
		wantErr bool
	}{
		{
			name: "defaults",
			want: testConfig{DatabaseURL: "sqlite://data/customer.db", NATSURL: "nats://127.0.0.1:4333", Timeout: 5 * time.Second, Port: 7101},
		},
		{
			name: "prefixed overrides",
			environ: map[string]string{
				"GUANXI_TEST_DB_URL":  "postgres://u:p@db/x",
				"GUANXI_TEST_PORT":    "9000",
				"GUANXI_TEST_TIMEOUT": "1m",
				"GUANXI_TEST_TAGS":    "a,b",
				"DB_URL":              "ignored without prefix",
			},
			want: testConfig{DatabaseURL: "postgres://u:p@db/x", NATSURL: "nats://127.0.0.1:4333", Timeout: time.Minute, Port: 9000, Tags: []string{"a", "b"}},
		},
		{
			name:    "bad int",
			environ: map[string]string{"GUANXI_TEST_PORT": "x"},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.LoadFrom[testConfig]("GUANXI_TEST_", tt.environ)
			if tt.wantErr {
				if err == nil {
					t.Fatal("want error, got nil")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.DatabaseURL != tt.want.DatabaseURL || got.NATSURL != tt.want.NATSURL || got.Timeout != tt.want.Timeout ||
				got.Port != tt.want.Port || len(got.Tags) != len(tt.want.Tags) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadFromProcessEnv(t *testing.T) {
	t.Setenv("GUANXI_PENV_PORT", "1234")
	got, err := config.Load[testConfig]("GUANXI_PENV_")
	if err != nil {
		t.Fatal(err)
	}
	if got.Port != 1234 {
		t.Fatalf("port = %d, want 1234", got.Port)
	}
}

func TestAttrsMasksSecrets(t *testing.T) {
	t.Parallel()
	cfg := testConfig{
		DatabaseURL: "postgres://app:hunter2@db:5432/customer?sslmode=disable",
		NATSURL:     "nats://127.0.0.1:4333",
		APIKey:      "sk-123",
		Timeout:     2 * time.Second,
		Port:        7101,
	}
	got := map[string]slog.Value{}
	for _, a := range config.Attrs(&cfg) {
		got[a.Key] = a.Value
	}
	tests := []struct {
		key, want string
	}{
		{"DatabaseURL", "postgres://app:***@db:5432/customer?sslmode=disable"},
		{"NATSURL", "nats://127.0.0.1:4333"},
		{"APIKey", "***"},
		{"Timeout", "2s"},
		{"Port", "7101"},
	}
	if len(got) != 6 {
		t.Fatalf("got %d attrs, want one per field (6)", len(got))
	}
	for _, tt := range tests {
		v, ok := got[tt.key]
		if !ok {
			t.Fatalf("missing attr %s", tt.key)
		}
		if v.String() != tt.want {
			t.Errorf("%s = %q, want %q", tt.key, v.String(), tt.want)
		}
	}
	for _, v := range got {
		if s := v.String(); s != "" && (strings.Contains(s, "hunter2") || strings.Contains(s, "sk-123")) {
			t.Errorf("secret leaked: %q", s)
		}
	}
}

func TestAttrsEmptySecret(t *testing.T) {
	t.Parallel()
	for _, a := range config.Attrs(testConfig{}) {
		if a.Key == "APIKey" && a.Value.String() != "" {
			t.Fatalf("empty secret shown as %q", a.Value.String())
		}
	}
}

// BrokerPart is a part several configurations share, embedded without a
// prefix (as servicehost.Broker is in every service's Config).
type BrokerPart struct {
	BrokerURL string `env:"BROKER_URL" envDefault:"nats://127.0.0.1:4333"`
	Password  string `env:"BROKER_PASSWORD" secret:"true"`
}

type embeddingConfig struct {
	Addr string `env:"ADDR" envDefault:"127.0.0.1:7101"`
	BrokerPart
}

func TestEmbeddedStructReadAndLoggedAsOwnFields(t *testing.T) {
	t.Parallel()
	got, err := config.LoadFrom[embeddingConfig]("GUANXI_TEST_", map[string]string{
		"GUANXI_TEST_BROKER_PASSWORD": "hunter2",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := embeddingConfig{Addr: "127.0.0.1:7101", BrokerPart: BrokerPart{BrokerURL: "nats://127.0.0.1:4333", Password: "hunter2"}}
	if got != want {
		t.Fatalf("loaded %+v, want %+v", got, want)
	}
	var keys []string
	for _, a := range config.Attrs(got) {
		keys = append(keys, a.Key+"="+a.Value.String())
	}
	if s := strings.Join(keys, " "); s != "Addr=127.0.0.1:7101 BrokerURL=nats://127.0.0.1:4333 Password=***" {
		t.Fatalf("attrs %s, want the embedded fields beside the outer ones, secret masked", s)
	}
}
