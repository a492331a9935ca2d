package oauth

import (
	"fmt"
	"testing"
)

func TestCovers(t *testing.T) {
	tests := []struct {
		granted  []string
		required string
		want     bool
	}{
		{[]string{"read"}, "read", true},
		{[]string{"read"}, "read:statuses", true},
		{[]string{"read:statuses"}, "read:statuses", true},
		{[]string{"read:statuses"}, "read", false},
		{[]string{"read:statuses"}, "read:accounts", false},
		{[]string{"write"}, "read:statuses", false},
		{[]string{"write"}, "write:media", true},
		{[]string{"follow"}, "write:follows", true},
		{[]string{"follow"}, "read:blocks", true},
		{[]string{"follow"}, "write:statuses", false},
		{[]string{"profile"}, "read:accounts", false},
		{[]string{"admin:read"}, "admin:read:accounts", true},
		{[]string{"read"}, "admin:read", false},
		{nil, "read", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.granted, tt.required), func(t *testing.T) {
			if got := Covers(tt.granted, tt.required); got != tt.want {
				t.Fatalf("Covers(%v, %q) = %v", tt.granted, tt.required, got)
			}
		})
	}
}

func TestParseScopes(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "[read]", false},
		{"read write follow", "[read write follow]", false},
		{"read+write", "[read write]", false},
		{"read read", "[read]", false},
		{"read:statuses push", "[read:statuses push]", false},
		{"read nonsense", "", true},
		{"admin", "", true},
	}
	for _, tt := range tests {
		got, err := ParseScopes(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && fmt.Sprint(got) != tt.want) {
			t.Errorf("ParseScopes(%q) = %v, %v", tt.in, got, err)
		}
	}
}
