package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/guanxi-crm/guanxi/platform/config"
)

// MinSecretBytes is the shortest HS256 secret accepted: as long as the
// hash, so the key is not the weak point.
const MinSecretBytes = 32

// Config is the deployment's token setup, read from GUANXI_AUTH_* by every
// process. Secret is required: tokens signed with it are accepted, and
// services sign their own calls to each other with it. JWKSFile adds the
// public keys of an identity provider, whose RS256 and ES256 tokens are
// then accepted as well. Issuer and Audience, when set, must match the
// tokens' iss and aud. ClockSkew is how long past its exp (or before its
// nbf) a token is still accepted, for clocks that disagree a little; zero
// means DefaultClockSkew.
type Config struct {
	// Secret (required, at least 32 bytes) signs and verifies HS256
	// tokens, including the ones services sign their calls to each other
	// with.
	Secret string `env:"SECRET" secret:"true"`
	// JWKSFile is a JWK Set of an identity provider's RS256/ES256 public
	// keys, whose tokens are then accepted too.
	JWKSFile string `env:"JWKS_FILE"`
	// Issuer, when set, must be the tokens' iss.
	Issuer string `env:"ISSUER"`
	// Audience, when set, must be among the tokens' aud.
	Audience string `env:"AUDIENCE"`
	// ClockSkew is how long past its exp (or before its nbf) a token is
	// still accepted (0: DefaultClockSkew, at most 5m).
	ClockSkew time.Duration `env:"CLOCK_SKEW"`
}

// DefaultClockSkew is the leeway on exp and nbf unless GUANXI_AUTH_CLOCK_SKEW
// says otherwise: enough for clocks kept by NTP, short enough that an
// ended token stops working at once for any purpose a person would notice.
const DefaultClockSkew = 5 * time.Second

// maxClockSkew bounds the leeway: past it, a token's exp means little.
const maxClockSkew = 5 * time.Minute

// clockSkew is the leeway c sets.
func (c Config) clockSkew() time.Duration {
	if c.ClockSkew == 0 {
		return DefaultClockSkew
	}
	return c.ClockSkew
}

// LoadConfig reads Config from the GUANXI_AUTH_* variables.
func LoadConfig() (Config, error) {
	return config.Load[Config]("GUANXI_AUTH_")
}

// Validate reports a setup that cannot work, naming the variable.
func (c Config) Validate() error {
	if c.Secret == "" {
		return errors.New("GUANXI_AUTH_SECRET is required: the key services verify tokens with and sign their calls to each other with (guanxi dev makes one)")
	}
	if len(c.Secret) < MinSecretBytes {
		return fmt.Errorf("GUANXI_AUTH_SECRET must be at least %d bytes", MinSecretBytes)
	}
	if c.ClockSkew < 0 || c.ClockSkew > maxClockSkew {
		return fmt.Errorf("GUANXI_AUTH_CLOCK_SKEW must be between 0 and %s; got %s", maxClockSkew, c.ClockSkew)
	}
	return nil
}
