package oauth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"

	"github.com/rhizome-fed/rhizome/storage"
)

// secretBytes is the entropy of every client id, client secret, access
// token, authorization code and CSRF token: 256 bits.
const secretBytes = 32

// secret is a random string handed out once. It never appears in logs.
type secret string

// LogValue keeps secrets out of logs.
func (secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// newSecret returns 32 random bytes, base64url-encoded without padding
// (43 characters). crypto/rand never fails on supported platforms.
func newSecret() secret {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b)
	return secret(base64.RawURLEncoding.EncodeToString(b))
}

// hash is how the secret is stored.
func (s secret) hash() []byte { return storage.SecretHash(string(s)) }

// secretMatches compares a presented secret with a stored hash in constant
// time.
func secretMatches(presented string, stored []byte) bool {
	return subtle.ConstantTimeCompare(storage.SecretHash(presented), stored) == 1
}
