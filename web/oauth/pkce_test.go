package oauth

import (
	"strings"
	"testing"
)

func TestPKCEVerify(t *testing.T) {
	tests := []struct {
		name, method, challenge, verifier string
		want                              bool
	}{
		{"S256 RFC 7636 vector", "S256", testChallenge, testVerifier, true},
		{"S256 wrong verifier", "S256", testChallenge, strings.Repeat("a", 43), false},
		{"S256 challenge as verifier", "S256", testChallenge, testChallenge, false},
		{"plain equal", "plain", testVerifier, testVerifier, true},
		{"plain differs", "plain", testVerifier, testVerifier[:42] + "X", false},
		{"verifier too short", "plain", "abc", "abc", false},
		{"verifier too long", "plain", strings.Repeat("a", 129), strings.Repeat("a", 129), false},
		{"verifier bad characters", "plain", strings.Repeat("a", 42) + "+", strings.Repeat("a", 42) + "+", false},
		{"unknown method", "S512", testChallenge, testVerifier, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pkceVerify(tt.method, tt.challenge, tt.verifier); got != tt.want {
				t.Fatalf("pkceVerify = %v, want %v", got, tt.want)
			}
		})
	}
}
