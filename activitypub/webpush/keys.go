package webpush

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Keys is the instance's VAPID key pair (RFC 8292), both halves base64url
// without padding. Public is the 65-byte uncompressed P-256 point that
// Mastodon clients receive as vapid_key and pass to the browser as
// applicationServerKey; Private is the 32-byte scalar and must stay secret.
type Keys struct {
	Public  string
	Private string
}

// GenerateKeys makes a new VAPID key pair.
func GenerateKeys() (Keys, error) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return Keys{}, fmt.Errorf("webpush: generate VAPID keys: %w", err)
	}
	return Keys{
		Public:  base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()),
		Private: base64.RawURLEncoding.EncodeToString(priv.Bytes()),
	}, nil
}

// Validate checks that both halves decode, that Private is a valid P-256
// scalar and that Public is its public key.
func (k Keys) Validate() error {
	_, _, err := k.decode()
	return err
}

// decode returns the raw public point and private scalar.
func (k Keys) decode() (pub, priv []byte, err error) {
	pub, err = decodeBase64(k.Public)
	if err != nil {
		return nil, nil, fmt.Errorf("webpush: VAPID public key: %w", err)
	}
	priv, err = decodeBase64(k.Private)
	if err != nil {
		return nil, nil, fmt.Errorf("webpush: VAPID private key: %w", err)
	}
	key, err := ecdh.P256().NewPrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("webpush: VAPID private key: %w", err)
	}
	if !bytes.Equal(key.PublicKey().Bytes(), pub) {
		return nil, nil, errors.New("webpush: VAPID public key does not belong to the private key")
	}
	return pub, priv, nil
}

// String hides the private key from fmt.
func (k Keys) String() string { return "webpush.Keys{Public:" + k.Public + " Private:REDACTED}" }

// LogValue hides the private key from slog.
func (k Keys) LogValue() slog.Value {
	return slog.GroupValue(slog.String("public", k.Public), slog.String("private", "REDACTED"))
}

// decodeBase64 accepts base64url or standard base64, padded or not, as
// browsers and client libraries send either.
func decodeBase64(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	raw := strings.TrimRight(s, "=")
	if pad := len(s) - len(raw); pad > 2 || (pad > 0 && len(s)%4 != 0) {
		return nil, errors.New("bad base64 padding")
	}
	enc := base64.RawURLEncoding
	if strings.ContainsAny(raw, "+/") {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return b, nil
}
