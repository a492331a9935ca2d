package webpush

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestGenerateKeys(t *testing.T) {
	k, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, value string
		want        int
	}{{"public", k.Public, 65}, {"private", k.Private, 32}} {
		b, err := base64.RawURLEncoding.DecodeString(c.value)
		if err != nil {
			t.Errorf("%s key %q is not unpadded base64url: %v", c.name, c.value, err)
		} else if len(b) != c.want {
			t.Errorf("%s key is %d bytes, want %d", c.name, len(b), c.want)
		}
	}
	if err := k.Validate(); err != nil {
		t.Errorf("Validate on fresh keys: %v", err)
	}
	other, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	if other == k {
		t.Error("two GenerateKeys calls gave the same keys")
	}
}

func TestKeysValidate(t *testing.T) {
	a, _ := GenerateKeys()
	b, _ := GenerateKeys()
	tests := []struct {
		name string
		keys Keys
		ok   bool
	}{
		{"generated", a, true},
		{"mismatched halves", Keys{Public: a.Public, Private: b.Private}, false},
		{"empty", Keys{}, false},
		{"public not base64", Keys{Public: "!!", Private: a.Private}, false},
		{"private too short", Keys{Public: a.Public, Private: a.Private[:20]}, false},
		{"zero scalar", Keys{Public: a.Public, Private: base64.RawURLEncoding.EncodeToString(make([]byte, 32))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.keys.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestKeys_secretHidden(t *testing.T) {
	k, _ := GenerateKeys()
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("keys", "vapid", k)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%v", &Sender{Keys: k}), logged.String()} {
		if strings.Contains(s, k.Private) {
			t.Errorf("private key shown in %q", s)
		}
		if !strings.Contains(s, k.Public) {
			t.Errorf("public key missing from %q", s)
		}
	}
}
