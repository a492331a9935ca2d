package oauth

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/rhizome-fed/rhizome/storage"
)

// topScopes are the scopes that cover a family of granular ones
// ("read" covers "read:statuses"). "follow" is Mastodon's old scope for
// relationships: it covers read:follows, write:follows, read:blocks,
// write:blocks, read:mutes and write:mutes.
var topScopes = []string{"read", "write", "follow", "push", "profile", "admin:read", "admin:write"}

// granularScopes lists every scope Mastodon defines below the top ones.
var granularScopes = []string{
	"read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters", "read:follows",
	"read:lists", "read:mutes", "read:notifications", "read:search", "read:statuses",
	"write:accounts", "write:blocks", "write:bookmarks", "write:conversations", "write:favourites",
	"write:filters", "write:follows", "write:lists", "write:media", "write:mutes", "write:notifications",
	"write:reports", "write:statuses",
}

// ValidScope reports whether s is a scope this server knows.
func ValidScope(s string) bool {
	return slices.Contains(topScopes, s) || slices.Contains(granularScopes, s)
}

// ParseScopes splits a space- or plus-separated scope string. Empty means
// "read", as Mastodon defaults. It fails on an unknown scope.
func ParseScopes(s string) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '+' })
	if len(fields) == 0 {
		return []string{"read"}, nil
	}
	var out []string
	for _, f := range fields {
		if !ValidScope(f) {
			return nil, errors.New("unknown scope " + f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// Covers reports whether the granted scopes allow required, which is a
// top scope or a granular one: "read" allows "read:statuses", and
// "follow" allows the follow, block and mute scopes.
func Covers(granted []string, required string) bool {
	if slices.Contains(granted, required) {
		return true
	}
	family, _, granular := strings.Cut(required, ":")
	if granular && !strings.HasPrefix(required, "admin:") && slices.Contains(granted, family) {
		return true
	}
	if strings.HasPrefix(required, "admin:") {
		top := "admin:" + strings.SplitN(strings.TrimPrefix(required, "admin:"), ":", 2)[0]
		if slices.Contains(granted, top) {
			return true
		}
	}
	switch required {
	case "read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes":
		return slices.Contains(granted, "follow")
	}
	return false
}

// Subset reports whether every scope in want is within granted.
func Subset(want, granted []string) bool {
	for _, w := range want {
		if !Covers(granted, w) {
			return false
		}
	}
	return true
}

// ErrNoToken reports a request without a usable bearer token.
var ErrNoToken = errors.New("oauth: the access token is invalid")

// BearerToken returns the stored token a request carries in
// "Authorization: Bearer …" (or, for WebSocket clients, an
// access_token query parameter), or ErrNoToken.
func BearerToken(store *storage.Store, r *http.Request) (*storage.Token, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		raw = r.URL.Query().Get("access_token")
	}
	return LookupToken(store, raw)
}

// LookupToken returns the stored token for a raw access token, or
// ErrNoToken.
func LookupToken(store *storage.Store, raw string) (*storage.Token, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 512 {
		return nil, ErrNoToken
	}
	var t *storage.Token
	err := store.View(func(tx *storage.Tx) error {
		var err error
		t, err = tx.Token(storage.SecretHash(raw))
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoToken
	}
	return t, err
}
