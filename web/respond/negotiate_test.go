package respond

import (
	"net/http/httptest"
	"testing"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name   string
		accept []string
		want   Representation
	}{
		{"none", nil, HTML},
		{"activity json", []string{"application/activity+json"}, ActivityJSON},
		{"ld json with profile", []string{`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`}, ActivityJSON},
		{"ld json bare", []string{"application/ld+json"}, ActivityJSON},
		{"misskey style", []string{"application/activity+json, application/ld+json"}, ActivityJSON},
		{"json beats star", []string{"*/*, application/activity+json"}, ActivityJSON},
		{"browser", []string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, HTML},
		{"star", []string{"*/*"}, HTML},
		{"text star", []string{"text/*"}, HTML},
		{"json refused with q=0", []string{"application/activity+json;q=0, text/html"}, HTML},
		{"q=0.0 refused", []string{"application/activity+json; q=0.0"}, Unacceptable},
		{"q=0.5 accepted", []string{"application/activity+json; q=0.5"}, ActivityJSON},
		{"plain json", []string{"application/json"}, Unacceptable},
		{"image", []string{"image/png"}, Unacceptable},
		{"two headers", []string{"image/png", "application/activity+json"}, ActivityJSON},
		{"garbage", []string{";;;,,,=="}, Unacceptable},
		{"empty value", []string{""}, Unacceptable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for _, a := range tt.accept {
				r.Header.Add("Accept", a)
			}
			if got := Negotiate(r); got != tt.want {
				t.Fatalf("Negotiate(%q) = %v, want %v", tt.accept, got, tt.want)
			}
		})
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"application/activity+json", "text/html;q=0.9", "*/*", `application/ld+json; profile="x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		switch Negotiate(r) {
		case Unacceptable, ActivityJSON, HTML:
		default:
			t.Fatalf("Negotiate(%q) returned an unknown representation", accept)
		}
	})
}
