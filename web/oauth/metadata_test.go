package oauth

import (
	"net/http"
	"reflect"
	"testing"
)

func TestMetadata(t *testing.T) {
	ts := newTestServer(t, Options{})
	var m map[string]any
	decodeResponse(t, ts.get(t, PathMetadata, ""), http.StatusOK, &m)
	strs := func(v any) []string {
		var out []string
		for _, s := range v.([]any) {
			out = append(out, s.(string))
		}
		return out
	}
	tests := []struct {
		field string
		want  any
	}{
		{"issuer", "http://a.test"},
		{"authorization_endpoint", "http://a.test/oauth/authorize"},
		{"token_endpoint", "http://a.test/oauth/token"},
		{"revocation_endpoint", "http://a.test/oauth/revoke"},
		{"app_registration_endpoint", "http://a.test/api/v1/apps"},
		{"service_documentation", "https://docs.joinmastodon.org/"},
		{"response_types_supported", []string{"code"}},
		{"response_modes_supported", []string{"query", "fragment", "form_post"}},
		{"grant_types_supported", []string{"authorization_code", "client_credentials"}},
		{"token_endpoint_auth_methods_supported", []string{"client_secret_basic", "client_secret_post"}},
		{"code_challenge_methods_supported", []string{"S256"}},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			got := m[tt.field]
			if _, isList := tt.want.([]string); isList {
				got = strs(got)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("%s = %v, want %v", tt.field, got, tt.want)
			}
		})
	}
	t.Run("scopes_supported", func(t *testing.T) {
		scopes := strs(m["scopes_supported"])
		if len(scopes) != len(topScopes)+len(granularScopes) {
			t.Fatalf("%d scopes", len(scopes))
		}
		for _, s := range scopes {
			if !ValidScope(s) {
				t.Errorf("unknown scope %q", s)
			}
		}
	})
}
