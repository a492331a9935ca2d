package webpushtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// signJWT makes a compact ES256 JWS over header and claims.
func signJWT(t *testing.T, key *ecdsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func publicKey(t *testing.T, key *ecdsa.PrivateKey) string {
	t.Helper()
	pub, err := key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(pub.Bytes())
}

func TestVerifyVAPID(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const aud = "http://127.0.0.1:4000"
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k := publicKey(t, key)
	es256 := map[string]any{"typ": "JWT", "alg": "ES256"}
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"aud": aud, "exp": now.Add(12 * time.Hour).Unix(), "sub": "mailto:admin@a.test"}
		if edit != nil {
			edit(c)
		}
		return c
	}
	good := signJWT(t, key, es256, claims(nil))

	tests := []struct {
		name    string
		header  string
		wantErr string
	}{
		{"valid", "vapid t=" + good + ", k=" + k, ""},
		{"scheme case and spacing", "VAPID t=" + good + ",k=" + k, ""},
		{"https subject", "vapid t=" + signJWT(t, key, es256, claims(func(c map[string]any) { c["sub"] = "https://a.test/" })) + ", k=" + k, ""},
		{"bearer", "Bearer " + good, "not vapid"},
		{"empty", "", "not vapid"},
		{"no k", "vapid t=" + good, "lacks t or k"},
		{"k not base64", "vapid t=" + good + ", k=%%%", "not base64url"},
		{"k not a point", "vapid t=" + good + ", k=" + base64.RawURLEncoding.EncodeToString(make([]byte, 65)), "not a P-256"},
		{"k of another key", "vapid t=" + good + ", k=" + publicKey(t, other), "does not verify"},
		{"signed by another key", "vapid t=" + signJWT(t, other, es256, claims(nil)) + ", k=" + k, "does not verify"},
		{"tampered claims", "vapid t=" + strings.Replace(good, ".", ".e30", 1) + ", k=" + k, "does not verify"},
		{"two parts", "vapid t=a.b, k=" + k, "compact"},
		{"alg none", "vapid t=" + signJWT(t, key, map[string]any{"alg": "none"}, claims(nil)) + ", k=" + k, "alg"},
		{"wrong aud", "vapid t=" + signJWT(t, key, es256, claims(func(c map[string]any) { c["aud"] = "https://127.0.0.1:4000" })) + ", k=" + k, "aud"},
		{"expired", "vapid t=" + signJWT(t, key, es256, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() })) + ", k=" + k, "expired"},
		{"exp too far", "vapid t=" + signJWT(t, key, es256, claims(func(c map[string]any) { c["exp"] = now.Add(25 * time.Hour).Unix() })) + ", k=" + k, "24h"},
		{"exp not a number", "vapid t=" + signJWT(t, key, es256, claims(func(c map[string]any) { c["exp"] = "soon" })) + ", k=" + k, "claims"},
		{"doubled mailto", "vapid t=" + signJWT(t, key, es256, claims(func(c map[string]any) { c["sub"] = "mailto:mailto:admin@a.test" })) + ", k=" + k, "sub"},
		{"bare address", "vapid t=" + signJWT(t, key, es256, claims(func(c map[string]any) { c["sub"] = "admin@a.test" })) + ", k=" + k, "sub"},
		{"no sub", "vapid t=" + signJWT(t, key, es256, claims(func(c map[string]any) { delete(c, "sub") })) + ", k=" + k, "sub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := verifyVAPID(tt.header, aud, now)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("verifyVAPID = %v", err)
				}
				if v.key != k || v.subject == "" {
					t.Errorf("verifyVAPID = %+v, want key %s and a subject", v, k)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("verifyVAPID = %+v, %v; want an error containing %q", v, err, tt.wantErr)
			}
		})
	}
}
