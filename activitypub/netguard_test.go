package activitypub

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestPublicAddress(t *testing.T) {
	tests := []struct {
		ip     string
		public bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"fc00::1", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"0.0.0.0", false},
		{"100.64.0.1", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := publicAddress(netip.MustParseAddr(tt.ip)); got != tt.public {
				t.Fatalf("publicAddress(%s) = %v", tt.ip, got)
			}
		})
	}
}

// TestGuardedDialer_refusesLoopback connects to a real loopback listener
// through both kinds of dialer: refused unless private addresses are
// allowed.
func TestGuardedDialer_refusesLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var plain net.Dialer
	tests := []struct {
		name         string
		custom       DialFunc
		allowPrivate bool
		wantRefused  bool
	}{
		{"default dialer", nil, false, true},
		{"default dialer allowed", nil, true, false},
		{"custom dialer", plain.DialContext, false, true},
		{"custom dialer allowed", plain.DialContext, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{DialContext: guardedDialer(tt.custom, tt.allowPrivate)}}
			resp, err := client.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
			if refused := errors.Is(err, ErrPrivateAddress); refused != tt.wantRefused {
				t.Fatalf("err = %v, want refused=%v", err, tt.wantRefused)
			}
		})
	}
}
