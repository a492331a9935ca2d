package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE (RFC 7636) code challenge methods.
const (
	pkceS256  = "S256"
	pkcePlain = "plain"
)

// pkceValue reports whether s is a well-formed code verifier or challenge:
// 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 section 4.1). An
// S256 challenge (43 base64url characters) has the same shape.
func pkceValue(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// pkceVerify checks a code verifier against the challenge of the
// authorization request, in constant time.
func pkceVerify(method, challenge, verifier string) bool {
	if !pkceValue(verifier) {
		return false
	}
	var derived string
	switch method {
	case pkceS256:
		sum := sha256.Sum256([]byte(verifier))
		derived = base64.RawURLEncoding.EncodeToString(sum[:])
	case pkcePlain:
		derived = verifier
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(derived), []byte(challenge)) == 1
}
