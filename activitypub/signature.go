package activitypub

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// Signatures follow draft-cavage HTTP Signatures, the scheme every
// fediverse server speaks. go-fed/httpsig does the cryptography; this file
// adds what it leaves out: parsing the header tolerantly, requiring the
// right headers to be signed, checking Digest against the body and Date
// against the clock.

// MaxClockSkew is how far a signed request's Date may be from our clock, in
// either direction. Mastodon accepts about an hour of skew; so do we.
const MaxClockSkew = time.Hour

// ErrSignature reports a missing or invalid HTTP signature.
var ErrSignature = errors.New("activitypub: invalid HTTP signature")

// signatureError wraps a reason as ErrSignature.
func signatureError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSignature, fmt.Sprintf(format, args...))
}

// signatureParams is a parsed Signature header.
type signatureParams struct {
	KeyID     string
	Algorithm string
	Headers   []string // lower case, in signing order
	Signature string   // base64
}

// maxSignatureHeader bounds the header we are willing to parse.
const maxSignatureHeader = 8 << 10

// parseSignatureHeader parses `keyId="…",algorithm="…",headers="…",
// signature="…"`. Unlike httpsig it tolerates spaces after commas and
// quoted commas, and it insists on keyId and signature.
func parseSignatureHeader(h string) (signatureParams, error) {
	var p signatureParams
	if len(h) > maxSignatureHeader {
		return p, signatureError("header too long")
	}
	seen := map[string]bool{}
	rest := strings.TrimSpace(h)
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return p, signatureError("malformed parameter %q", rest)
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = rest[eq+1:]
		var value string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return p, signatureError("unterminated value of %s", name)
			}
			value, rest = rest[1:1+end], rest[2+end:]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			value, rest = strings.TrimSpace(rest[:end]), rest[end:]
		}
		rest = strings.TrimSpace(rest)
		if rest != "" {
			if rest[0] != ',' {
				return p, signatureError("expected a comma after %s", name)
			}
			rest = strings.TrimSpace(rest[1:])
		}
		if seen[name] {
			return p, signatureError("parameter %s repeated", name)
		}
		seen[name] = true
		switch name {
		case "keyid":
			p.KeyID = value
		case "algorithm":
			p.Algorithm = strings.ToLower(value)
		case "headers":
			p.Headers = strings.Fields(strings.ToLower(value))
		case "signature":
			p.Signature = value
		}
	}
	if p.KeyID == "" || p.Signature == "" {
		return p, signatureError("keyId and signature are required")
	}
	if len(p.Headers) == 0 {
		p.Headers = []string{"date"} // the draft's default
	}
	return p, nil
}

// String renders the parameters in the canonical form httpsig parses.
func (p signatureParams) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, `keyId="%s"`, p.KeyID)
	if p.Algorithm != "" {
		fmt.Fprintf(&b, `,algorithm="%s"`, p.Algorithm)
	}
	fmt.Fprintf(&b, `,headers="%s",signature="%s"`, strings.Join(p.Headers, " "), p.Signature)
	return b.String()
}

// SignRequest signs r as keyID, as every outgoing request is signed. It is
// exported for tools and tests that talk to inboxes.
func SignRequest(r *http.Request, body []byte, keyID string, key crypto.PrivateKey, now time.Time) error {
	return signRequest(r, body, keyID, key, now)
}

// ParsePrivateKeyPEM reads a PKCS#8 private key as this package stores
// them.
func ParsePrivateKeyPEM(s string) (crypto.PrivateKey, error) { return parsePrivateKeyPEM(s) }

// signRequest signs r as keyID: (request-target) host date for a GET, plus
// digest (and a Digest header) when there is a body. Build a new request
// for each attempt: the Date must be fresh.
func signRequest(r *http.Request, body []byte, keyID string, key crypto.PrivateKey, now time.Time) error {
	headers := []string{httpsig.RequestTarget, "host", "date"}
	if body != nil {
		headers = append(headers, "digest")
		if r.Header.Get("Content-Type") != "" {
			headers = append(headers, "content-type")
		}
	}
	r.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	// httpsig reads the host from the header map; net/http ignores this
	// entry when writing, using r.Host.
	r.Header.Set("Host", r.URL.Host)
	algorithm := httpsig.RSA_SHA256
	if _, ok := key.(ed25519.PrivateKey); ok {
		algorithm = httpsig.ED25519
	}
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{algorithm}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return fmt.Errorf("new signer: %w", err)
	}
	if err := signer.SignRequest(key, keyID, r, body); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	return nil
}

// parseSignature reads the signature parameters of an incoming request and
// checks what can be checked without the key: the signed header set, the
// Digest against body, and the Date against now.
func parseSignature(r *http.Request, body []byte, now time.Time) (signatureParams, error) {
	raw := r.Header.Get("Signature")
	if raw == "" {
		if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Signature "); ok {
			raw = auth
		}
	}
	if raw == "" {
		return signatureParams{}, signatureError("request is not signed")
	}
	p, err := parseSignatureHeader(raw)
	if err != nil {
		return p, err
	}
	switch p.Algorithm {
	case "", "hs2019", "rsa-sha256", "ed25519":
	default:
		return p, signatureError("algorithm %q is not supported", p.Algorithm)
	}
	required := []string{httpsig.RequestTarget, "host", "date"}
	if r.Method == http.MethodPost || len(body) > 0 {
		required = append(required, "digest")
	}
	for _, h := range required {
		if !slices.Contains(p.Headers, h) {
			return p, signatureError("%s is not signed", h)
		}
	}
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		return p, signatureError("Date header missing or malformed")
	}
	if skew := now.Sub(date); skew > MaxClockSkew || skew < -MaxClockSkew {
		return p, signatureError("Date %s is more than %s from our clock", r.Header.Get("Date"), MaxClockSkew)
	}
	if slices.Contains(p.Headers, "digest") {
		if err := checkDigest(r.Header.Values("Digest"), body); err != nil {
			return p, err
		}
	}
	return p, nil
}

// checkDigest requires a SHA-256 entry in the Digest header(s) that matches
// body. Other algorithms are ignored; at least one SHA-256 must be present.
func checkDigest(values []string, body []byte) error {
	sum := sha256.Sum256(body)
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || !strings.EqualFold(name, "SHA-256") {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(value)
			if err != nil || subtle.ConstantTimeCompare(got, sum[:]) != 1 {
				return signatureError("Digest does not match the body")
			}
			return nil
		}
	}
	return signatureError("no SHA-256 Digest")
}

// verifySignature checks the signature of r, already parsed into p, with
// pub. Peers differ in how they sign the target, so it tries the request as
// received, without its query string, and with the escaped path.
func verifySignature(r *http.Request, p signatureParams, pub crypto.PublicKey) error {
	algorithm := httpsig.RSA_SHA256
	switch pub.(type) {
	case *rsa.PublicKey:
	case ed25519.PublicKey:
		algorithm = httpsig.ED25519
	default:
		return signatureError("unsupported key type %T", pub)
	}
	variants := []func(*http.Request){
		func(*http.Request) {},
		func(c *http.Request) { c.URL.RawQuery = "" },
		func(c *http.Request) { c.URL.Path, c.URL.RawPath, c.URL.RawQuery = c.URL.EscapedPath(), "", "" },
	}
	for _, vary := range variants {
		c := r.Clone(r.Context())
		c.Header.Del("Authorization")
		c.Header.Set("Signature", p.String())
		if c.Header.Get("Host") == "" {
			c.Header.Set("Host", r.Host)
		}
		vary(c)
		v, err := httpsig.NewVerifier(c)
		if err != nil {
			return signatureError("%v", err)
		}
		if v.Verify(pub, algorithm) == nil {
			return nil
		}
	}
	return signatureError("signature does not verify with key %s", p.KeyID)
}

// parsePublicKeyPEM accepts PKIX "PUBLIC KEY" and PKCS#1 "RSA PUBLIC KEY".
func parsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("public key is not PEM")
	}
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	}
	return nil, fmt.Errorf("public key PEM type %q", block.Type)
}

// parsePrivateKeyPEM reads the PKCS#8 keys we store.
func parsePrivateKeyPEM(s string) (crypto.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("private key is not PEM")
	}
	return x509.ParsePKCS8PrivateKey(block.Bytes)
}
