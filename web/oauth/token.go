package oauth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// RFC 6749 section 5.2 error codes, as the token and revocation endpoints
// send them in {"error": code, "error_description": text}.
const (
	errInvalidRequest       = "invalid_request"
	errInvalidClient        = "invalid_client"
	errInvalidGrant         = "invalid_grant"
	errInvalidScope         = "invalid_scope"
	errUnauthorizedClient   = "unauthorized_client"
	errUnsupportedGrantType = "unsupported_grant_type"
)

// tokenError is an RFC 6749 error response. Its status follows from its
// code, so the status is picked in one place (status) and not per call.
type tokenError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
	basic       bool   // the client authenticated with HTTP Basic
}

func (e *tokenError) Error() string { return e.Code + ": " + e.Description }

// status maps the error code to its status: 401 for a failed client
// authentication (RFC 6749 section 5.2), 403 for a client refused an
// action it authenticated for (RFC 7009), 400 for the rest.
func (e *tokenError) status() int {
	switch e.Code {
	case errInvalidClient:
		return http.StatusUnauthorized
	case errUnauthorizedClient:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// writeTokenError answers with an RFC 6749 error, or, for any other error
// (a storage failure, an oversized body), with respond.Error.
func (h *handler) writeTokenError(w http.ResponseWriter, r *http.Request, err error) {
	var te *tokenError
	var bad *respond.BadRequest
	switch {
	case errors.As(err, &te):
	case errors.As(err, &bad):
		te = &tokenError{Code: errInvalidRequest, Description: bad.Reason}
	default:
		respond.Error(w, r, h.log, err)
		return
	}
	if te.status() == http.StatusUnauthorized && te.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+h.in.Domain()+`"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, te.status(), te)
}

// tokenResponse is RFC 6749 section 5.1's answer, as Mastodon's Token
// entity shapes it. Tokens do not expire.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
	CreatedAt   int64  `json:"created_at"`
}

// POST /oauth/token
func (h *handler) token(w http.ResponseWriter, r *http.Request) {
	params, err := decodeParams(w, r)
	if err != nil {
		h.writeTokenError(w, r, err)
		return
	}
	grant := params.Get("grant_type")
	switch grant {
	case "authorization_code", "client_credentials":
	case "":
		h.writeTokenError(w, r, &tokenError{Code: errInvalidRequest, Description: "Missing required parameter: grant_type."})
		return
	default:
		h.writeTokenError(w, r, &tokenError{Code: errUnsupportedGrantType, Description: "The authorization grant type is not supported by the authorization server."})
		return
	}
	app, basic, err := h.authenticateClient(r, params)
	if errors.Is(err, errBadClient) {
		err = &tokenError{Code: errInvalidClient, Description: "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.", basic: basic}
	}
	if err != nil {
		h.writeTokenError(w, r, err)
		return
	}
	var t *storage.Token
	raw := newSecret()
	if grant == "authorization_code" {
		t, err = h.exchangeCode(r, app, params.Get("code"), params.Get("redirect_uri"), params["code_verifier"], raw)
	} else {
		t, err = h.clientToken(r, app, params.Get("scope"), raw)
	}
	if err != nil {
		h.writeTokenError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "token issued", "grant_type", grant, "app_id", app.ID, "account_id", t.AccountID)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	respond.JSON(w, http.StatusOK, tokenResponse{
		AccessToken: string(raw),
		TokenType:   "Bearer",
		Scope:       strings.Join(t.Scopes, " "),
		CreatedAt:   t.CreatedAt.Unix(),
	})
}

var errCodeInvalid = &tokenError{Code: errInvalidGrant, Description: "The provided authorization grant is invalid, expired, revoked, " +
	"does not match the redirection URI used in the authorization request, or was issued to another client."}

// exchangeCode turns an authorization code into a token for its account.
// The code is consumed by the attempt whatever its outcome, so a stolen
// code tried with a wrong verifier is burnt; an expired code is deleted.
func (h *handler) exchangeCode(r *http.Request, app *storage.App, code, redirectURI string, verifier []string, raw secret) (*storage.Token, error) {
	if code == "" || len(code) > 512 {
		return nil, &tokenError{Code: errInvalidRequest, Description: "Missing required parameter: code."}
	}
	if redirectURI == "" {
		return nil, &tokenError{Code: errInvalidRequest, Description: "Missing required parameter: redirect_uri."}
	}
	now := h.now()
	t := &storage.Token{Hash: raw.hash(), AppID: app.ID, CreatedAt: now.UTC()}
	var refused *tokenError
	err := h.store.Batch(r.Context(), func(tx *storage.Tx) error {
		refused = nil // Batch may run this more than once
		c, err := tx.TakeAuthCode(storage.SecretHash(code), now)
		if errors.Is(err, storage.ErrNotFound) {
			refused = errCodeInvalid
			return nil // commit: an expired code's deletion sticks
		}
		if err != nil {
			return err
		}
		if refused = checkCode(c, app, redirectURI, verifier); refused != nil {
			return nil // commit: the code is burnt
		}
		a, err := tx.Account(c.AccountID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && a.Suspended) {
			refused = errCodeInvalid
			return nil
		}
		if err != nil {
			return err
		}
		t.AccountID, t.Scopes = c.AccountID, c.Scopes
		return tx.PutToken(t)
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return t, nil
}

// checkCode checks a taken code against the exchange request: same app,
// same redirect URI, and the PKCE verifier when the code has a challenge.
func checkCode(c *storage.AuthCode, app *storage.App, redirectURI string, verifier []string) *tokenError {
	if c.AppID != app.ID || c.RedirectURI != redirectURI {
		return errCodeInvalid
	}
	if c.Challenge == "" {
		if len(verifier) > 0 {
			// A verifier for a code issued without a challenge is a PKCE
			// downgrade attempt (OAuth 2.1 section 4.1.3).
			return &tokenError{Code: errInvalidGrant, Description: "code_verifier was sent but the authorization request had no code_challenge."}
		}
		return nil
	}
	if len(verifier) == 0 || verifier[0] == "" {
		return &tokenError{Code: errInvalidRequest, Description: "Missing required parameter: code_verifier."}
	}
	if !pkceVerify(c.ChallengeMethod, c.Challenge, verifier[0]) {
		return &tokenError{Code: errInvalidGrant, Description: "The code_verifier does not match the code_challenge."}
	}
	return nil
}

// clientToken issues an app-only token (client_credentials grant): it
// acts for no account, with scopes within the app's.
func (h *handler) clientToken(r *http.Request, app *storage.App, scope string, raw secret) (*storage.Token, error) {
	scopes, err := ParseScopes(scope)
	if err != nil {
		return nil, &tokenError{Code: errInvalidScope, Description: "The requested scope is invalid: " + err.Error() + "."}
	}
	if !Subset(scopes, app.Scopes) {
		return nil, &tokenError{Code: errInvalidScope, Description: "The requested scope exceeds the scope granted to the app."}
	}
	t := &storage.Token{Hash: raw.hash(), AppID: app.ID, Scopes: scopes, CreatedAt: h.now().UTC()}
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.PutToken(t) }); err != nil {
		return nil, err
	}
	return t, nil
}
