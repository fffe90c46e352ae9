// Package domain is what an API key is: who it acts as, how its secret is
// made and recognized, and when it stops working. It imports no transport
// or storage package.
package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// keyPrefix starts every key, so that a leaked key is recognizable (secret
// scanners, logs) and tells itself apart from a JWT.
const keyPrefix = "gxk_"

// Limits of a key's description.
const (
	MaxNameLength    = 200
	MaxSubjectLength = 200
	MaxListLength    = 50
)

var (
	// ErrNotFound: no key has the id.
	ErrNotFound = errors.New("api key not found")
	// ErrInvalidKey: the key presented is malformed, unknown, wrong,
	// revoked or expired. Which of them is not told, so that keys cannot
	// be probed.
	ErrInvalidKey = errors.New("the api key is not valid")
	// ErrRevoked: the key was already revoked.
	ErrRevoked = errors.New("api key already revoked")
)

// APIKey is a key without its secret: the service keeps SecretHash only.
type APIKey struct {
	ID          string
	Name        string
	Subject     string
	Roles       []string
	Teams       []string
	Permissions []string
	Creator     string
	CreateTime  time.Time
	// ExpireTime and RevokeTime are zero when unset.
	ExpireTime time.Time
	RevokeTime time.Time
	SecretHash string
}

// Spec is what a caller asks a new key to be.
type Spec struct {
	Name, Subject             string
	Roles, Teams, Permissions []string
	ExpireTime                time.Time
}

// NewAPIKey checks spec (roles must be among known) and returns the key and
// the whole secret key to hand out, "gxk_<id>_<secret>". The secret is 32
// random bytes: hashing it with SHA-256 is enough, a slow password hash
// would protect nothing more.
func NewAPIKey(spec Spec, known []string, creator string, now time.Time) (APIKey, string, error) {
	var v validation.Violations
	k := APIKey{
		Name: strings.TrimSpace(spec.Name), Subject: strings.TrimSpace(spec.Subject),
		Roles: spec.Roles, Teams: spec.Teams, Permissions: spec.Permissions,
		Creator: creator, CreateTime: now, ExpireTime: spec.ExpireTime,
	}
	checkText(&v, "api_key.name", k.Name, MaxNameLength)
	checkText(&v, "api_key.subject", k.Subject, MaxSubjectLength)
	for i, r := range k.Roles {
		if !slices.Contains(known, r) {
			v.Add(field("api_key.roles", i), "is not a role: one of "+strings.Join(known, ", "))
		}
	}
	checkList(&v, "api_key.roles", k.Roles)
	checkList(&v, "api_key.teams", k.Teams)
	checkList(&v, "api_key.permissions", k.Permissions)
	if !k.ExpireTime.IsZero() && !k.ExpireTime.After(now) {
		v.Add("api_key.expire_time", "is not in the future")
	}
	if err := v.Err(); err != nil {
		return APIKey{}, "", err
	}
	id, secret := randomText(12, hex.EncodeToString), randomText(32, base64.RawURLEncoding.EncodeToString)
	k.ID, k.SecretHash = id, hash(secret)
	return k, keyPrefix + id + "_" + secret, nil
}

// ParseKey splits a whole key into its id and secret.
func ParseKey(key string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(key), keyPrefix)
	if !ok {
		return "", "", ErrInvalidKey
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || id == "" || secret == "" {
		return "", "", ErrInvalidKey
	}
	return id, secret, nil
}

// Check reports whether secret is k's and k works at now.
func (k APIKey) Check(secret string, now time.Time) error {
	if subtle.ConstantTimeCompare([]byte(hash(secret)), []byte(k.SecretHash)) != 1 ||
		!k.RevokeTime.IsZero() || (!k.ExpireTime.IsZero() && !now.Before(k.ExpireTime)) {
		return ErrInvalidKey
	}
	return nil
}

// Revoke returns k revoked at now.
func (k APIKey) Revoke(now time.Time) (APIKey, error) {
	if !k.RevokeTime.IsZero() {
		return k, ErrRevoked
	}
	k.RevokeTime = now
	return k, nil
}

func hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func randomText(n int, encode func([]byte) string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return encode(b)
}

func checkText(v *validation.Violations, name, s string, max int) {
	switch {
	case s == "":
		v.Add(name, "is required")
	case len(s) > max:
		v.Add(name, "is longer than "+strconv.Itoa(max)+" bytes")
	}
}

func checkList(v *validation.Violations, name string, items []string) {
	if len(items) > MaxListLength {
		v.Add(name, "has more than "+strconv.Itoa(MaxListLength)+" entries")
	}
	for i, s := range items {
		if strings.TrimSpace(s) == "" || len(s) > MaxSubjectLength {
			v.Add(field(name, i), "must be 1 to "+strconv.Itoa(MaxSubjectLength)+" bytes")
		}
	}
}

func field(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }
