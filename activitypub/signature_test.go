package activitypub

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	testKeyOnce sync.Once
	testKeys    [2]keyPair
)

// testKeyPairs returns two RSA key pairs, generated once per test binary.
func testKeyPairs(t testing.TB) (crypto.PrivateKey, crypto.PublicKey, crypto.PublicKey) {
	t.Helper()
	testKeyOnce.Do(func() {
		for i := range testKeys {
			k, err := newKeyPair()
			if err != nil {
				panic(err)
			}
			testKeys[i] = k
		}
	})
	priv, err := parsePrivateKeyPEM(testKeys[0].privatePEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := parsePublicKeyPEM(testKeys[0].publicPEM)
	if err != nil {
		t.Fatal(err)
	}
	other, err := parsePublicKeyPEM(testKeys[1].publicPEM)
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub, other
}

const testKeyID = "https://b.test/users/bob#main-key"

func signedPost(t testing.TB, url string, body []byte, now time.Time) *http.Request {
	t.Helper()
	priv, _, _ := testKeyPairs(t)
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/activity+json")
	if err := signRequest(r, body, testKeyID, priv, now); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSignature_roundTripAndTampering(t *testing.T) {
	_, pub, other := testKeyPairs(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"type":"Follow"}`)
	tests := []struct {
		name    string
		mutate  func(r *http.Request) []byte // returns the body the server sees
		key     crypto.PublicKey
		at      time.Time
		wantErr bool
	}{
		{"valid", func(r *http.Request) []byte {
			if !strings.Contains(r.Header.Get("Signature"), `headers="(request-target) host date digest content-type"`) {
				t.Errorf("signed headers: %s", r.Header.Get("Signature"))
			}
			return body
		}, pub, now, false},
		{"valid with skew", func(*http.Request) []byte { return body }, pub, now.Add(59 * time.Minute), false},
		{"valid with spaces after commas", func(r *http.Request) []byte {
			r.Header.Set("Signature", strings.ReplaceAll(r.Header.Get("Signature"), `",`, `", `))
			return body
		}, pub, now, false},
		{"valid in Authorization", func(r *http.Request) []byte {
			r.Header.Set("Authorization", "Signature "+r.Header.Get("Signature"))
			r.Header.Del("Signature")
			return body
		}, pub, now, false},
		{"unsigned", func(r *http.Request) []byte { r.Header.Del("Signature"); return body }, pub, now, true},
		{"other key", func(*http.Request) []byte { return body }, other, now, true},
		{"body changed", func(*http.Request) []byte { return []byte(`{"type":"Like"}`) }, pub, now, true},
		{"digest and body changed", func(r *http.Request) []byte {
			b := []byte(`{"type":"Like"}`)
			r.Header.Set("Digest", "SHA-256=YR7UNEgXeC8eLQ/8mXKJq4VGxkVcbSd3V2xPKkgEEnE=")
			return b
		}, pub, now, true},
		{"stale date", func(*http.Request) []byte { return body }, pub, now.Add(2 * time.Hour), true},
		{"future date", func(*http.Request) []byte { return body }, pub, now.Add(-2 * time.Hour), true},
		{"date changed", func(r *http.Request) []byte {
			r.Header.Set("Date", now.Add(time.Minute).Format(http.TimeFormat))
			return body
		}, pub, now, true},
		{"path changed", func(r *http.Request) []byte { r.URL.Path = "/users/carol/inbox"; return body }, pub, now, true},
		{"host changed", func(r *http.Request) []byte { r.Host = "c.test"; r.Header.Set("Host", "c.test"); return body }, pub, now, true},
		{"digest not signed", func(r *http.Request) []byte {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), " digest", "", 1))
			return body
		}, pub, now, true},
		{"only date signed", func(r *http.Request) []byte {
			r.Header.Set("Signature", regexp.MustCompile(`headers="[^"]*"`).ReplaceAllString(r.Header.Get("Signature"), `headers="date"`))
			return body
		}, pub, now, true},
		{"md5 algorithm", func(r *http.Request) []byte {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="hs2019"`, `algorithm="hmac-md5"`, 1))
			return body
		}, pub, now, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signedPost(t, "https://a.test/users/alice/inbox", body, now)
			seen := tt.mutate(r)
			p, err := parseSignature(r, seen, tt.at)
			if err == nil {
				err = verifySignature(r, p, tt.key)
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrSignature) {
				t.Fatalf("error %v is not ErrSignature", err)
			}
			if err == nil && p.KeyID != testKeyID {
				t.Fatalf("keyId %q", p.KeyID)
			}
		})
	}
}

// TestSignature_queryVariants accepts a GET signed without its query
// string, as Mastodon before 4.3 and others sign.
func TestSignature_queryVariants(t *testing.T) {
	priv, pub, _ := testKeyPairs(t)
	now := time.Now()
	r, _ := http.NewRequest(http.MethodGet, "https://a.test/users/alice/outbox", nil)
	if err := signRequest(r, nil, testKeyID, priv, now); err != nil {
		t.Fatal(err)
	}
	r.URL.RawQuery = "page=1" // signed without the query, sent with it
	p, err := parseSignature(r, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifySignature(r, p, pub); err != nil {
		t.Fatalf("query-less signature: %v", err)
	}
}

func TestSignature_ed25519(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := []byte(`{}`)
	r, _ := http.NewRequest(http.MethodPost, "https://a.test/inbox", bytes.NewReader(body))
	if err := signRequest(r, body, testKeyID, priv, now); err != nil {
		t.Fatal(err)
	}
	p, err := parseSignature(r, body, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifySignature(r, p, pub); err != nil {
		t.Fatal(err)
	}
}

func TestParseSignatureHeader(t *testing.T) {
	tests := []struct {
		in      string
		want    signatureParams
		wantErr bool
	}{
		{`keyId="k",algorithm="rsa-sha256",headers="(request-target) host date",signature="c2ln"`,
			signatureParams{"k", "rsa-sha256", []string{"(request-target)", "host", "date"}, "c2ln"}, false},
		{`keyId="k", headers="Date Host", signature="c2ln"`,
			signatureParams{"k", "", []string{"date", "host"}, "c2ln"}, false},
		{`keyId="k",signature="c2ln"`, signatureParams{"k", "", []string{"date"}, "c2ln"}, false},
		{`keyId="https://x/a,b",signature="c2ln"`, signatureParams{"https://x/a,b", "", []string{"date"}, "c2ln"}, false},
		{`signature="c2ln"`, signatureParams{}, true},
		{`keyId="k"`, signatureParams{}, true},
		{`keyId="k,signature="x"`, signatureParams{}, true},
		{`keyId="k" signature="x"`, signatureParams{}, true},
		{`keyId="k",keyId="j",signature="x"`, signatureParams{}, true},
		{`=x`, signatureParams{}, true},
		{``, signatureParams{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSignatureHeader(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseSignatureHeader(f *testing.F) {
	f.Add(`keyId="https://b.test/users/bob#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="c2ln"`)
	f.Add(`keyId="k", headers="date", signature="x"`)
	f.Add(`keyId=k,signature=x`)
	f.Fuzz(func(t *testing.T, h string) {
		p, err := parseSignatureHeader(h)
		if err != nil {
			return
		}
		again, err := parseSignatureHeader(p.String())
		if err != nil {
			// Values holding a quote cannot be rendered back; they can
			// never verify either.
			if strings.ContainsAny(p.KeyID+p.Algorithm+p.Signature+strings.Join(p.Headers, ""), `"`) {
				return
			}
			t.Fatalf("round trip of %q via %q: %v", h, p.String(), err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("round trip: %q → %+v → %+v", h, p, again)
		}
	})
}

func BenchmarkSignature(b *testing.B) {
	priv, pub, _ := testKeyPairs(b)
	body := bytes.Repeat([]byte("x"), 2048)
	now := time.Now()
	b.Run("sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, _ := http.NewRequest(http.MethodPost, "https://a.test/inbox", bytes.NewReader(body))
			if err := signRequest(r, body, testKeyID, priv, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		r := signedPost(b, "https://a.test/inbox", body, now)
		b.ReportAllocs()
		for b.Loop() {
			p, err := parseSignature(r, body, now)
			if err != nil {
				b.Fatal(err)
			}
			if err := verifySignature(r, p, pub); err != nil {
				b.Fatal(err)
			}
		}
	})
}
