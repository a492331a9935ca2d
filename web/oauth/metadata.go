package oauth

import (
	"net/http"

	"github.com/rhizome-fed/rhizome/web/respond"
)

// PathMetadata is where the RFC 8414 authorization server metadata is
// served.
const PathMetadata = "/.well-known/oauth-authorization-server"

// metadata is the RFC 8414 document, with the fields Mastodon publishes.
type metadata struct {
	Issuer                            string   `json:"issuer"`
	ServiceDocumentation              string   `json:"service_documentation"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	AppRegistrationEndpoint           string   `json:"app_registration_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
}

// GET /.well-known/oauth-authorization-server
func (h *handler) metadata(w http.ResponseWriter, _ *http.Request) {
	base := h.in.BaseURL()
	respond.JSON(w, http.StatusOK, metadata{
		Issuer:                  base,
		ServiceDocumentation:    "https://docs.joinmastodon.org/",
		AuthorizationEndpoint:   base + "/oauth/authorize",
		TokenEndpoint:           base + "/oauth/token",
		AppRegistrationEndpoint: base + "/api/v1/apps",
		RevocationEndpoint:      base + "/oauth/revoke",
		ScopesSupported:         append(append([]string{}, topScopes...), granularScopes...),
		ResponseTypesSupported:  []string{"code"},
		ResponseModesSupported:  []string{"query", "fragment", "form_post"},
		// plain is accepted too, but RFC 7636 asks clients for S256, and
		// Mastodon advertises only S256.
		CodeChallengeMethodsSupported:     []string{pkceS256},
		GrantTypesSupported:               []string{"authorization_code", "client_credentials"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
	})
}
