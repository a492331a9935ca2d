package webpushtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// maxVAPIDLifetime is how far in the future exp may be (RFC 8292, section 2).
const maxVAPIDLifetime = 24 * time.Hour

// vapid is what a valid VAPID Authorization header carries.
type vapid struct {
	subject string // the JWT's sub claim
	key     string // the k parameter, the sender's public key as sent
}

// verifyVAPID checks an Authorization header of the form
// "vapid t=<JWT>, k=<public key>" (RFC 8292, section 3) for a push sent to
// an endpoint whose origin (scheme://host) is aud.
func verifyVAPID(header, aud string, now time.Time) (vapid, error) {
	scheme, params, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "vapid") {
		return vapid{}, fmt.Errorf("authorization scheme is not vapid: %q", header)
	}
	var token, key string
	for p := range strings.SplitSeq(params, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(name) {
		case "t":
			token = value
		case "k":
			key = value
		}
	}
	if token == "" || key == "" {
		return vapid{}, errors.New("vapid authorization lacks t or k")
	}
	pubBytes, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(key, "="))
	if err != nil {
		return vapid{}, fmt.Errorf("vapid k is not base64url: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pubBytes)
	if err != nil {
		return vapid{}, fmt.Errorf("vapid k is not a P-256 public key: %w", err)
	}

	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return vapid{}, errors.New("vapid t is not a JWS compact serialization")
	}
	var head struct {
		Alg string `json:"alg"`
	}
	if err := decodeJWTPart(parts[0], &head); err != nil {
		return vapid{}, fmt.Errorf("JWT header: %w", err)
	}
	if head.Alg != "ES256" {
		return vapid{}, fmt.Errorf("JWT alg is %q, want ES256", head.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return vapid{}, errors.New("JWT signature is not 64 bytes of base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return vapid{}, errors.New("JWT signature does not verify with k")
	}

	var claims struct {
		Aud string      `json:"aud"`
		Exp json.Number `json:"exp"`
		Sub string      `json:"sub"`
	}
	if err := decodeJWTPart(parts[1], &claims); err != nil {
		return vapid{}, fmt.Errorf("JWT claims: %w", err)
	}
	if claims.Aud != aud {
		return vapid{}, fmt.Errorf("JWT aud is %q, want %q", claims.Aud, aud)
	}
	exp, err := claims.Exp.Int64()
	if err != nil {
		return vapid{}, fmt.Errorf("JWT exp %q is not an integer", claims.Exp)
	}
	switch expires := time.Unix(exp, 0); {
	case !expires.After(now):
		return vapid{}, fmt.Errorf("JWT expired at %s", expires.UTC().Format(time.RFC3339))
	case expires.After(now.Add(maxVAPIDLifetime + time.Minute)):
		return vapid{}, fmt.Errorf("JWT exp %s is more than 24h away", expires.UTC().Format(time.RFC3339))
	}
	if err := checkSubject(claims.Sub); err != nil {
		return vapid{}, err
	}
	return vapid{subject: claims.Sub, key: key}, nil
}

// checkSubject accepts "mailto:<one plain address>" or an https URL.
func checkSubject(sub string) error {
	if addr, ok := strings.CutPrefix(sub, "mailto:"); ok {
		if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr {
			return fmt.Errorf("JWT sub %q is not mailto: and one address", sub)
		}
		return nil
	}
	if u, err := url.Parse(sub); err == nil && u.Scheme == "https" && u.Host != "" {
		return nil
	}
	return fmt.Errorf("JWT sub %q is neither a mailto: nor an https: URI", sub)
}

func decodeJWTPart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	return dec.Decode(v)
}
