package mastodon

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/oauth"
	"github.com/rhizome-fed/rhizome/web/respond"
)

type authKey struct{}

// auth is who is calling: the token and, for a user token, its account.
type auth struct {
	token   *storage.Token
	account *storage.Account // nil for an app-only token
}

func authOf(r *http.Request) *auth {
	a, _ := r.Context().Value(authKey{}).(*auth)
	return a
}

// viewer is the signed-in account, or nil for anonymous and app tokens.
func viewer(r *http.Request) *storage.Account {
	if a := authOf(r); a != nil {
		return a.account
	}
	return nil
}

// access says who may call an endpoint.
type access int

const (
	public    access = iota // anyone; a token, if given, must be valid
	userOnly                // a user token with the scope
	appOrUser               // any token with the scope
)

// guard checks the bearer token and scope before next runs: 401 without
// a valid token where one is needed, 403 when its scopes do not cover the
// endpoint.
func (h *handler) guard(level access, scope string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := h.authenticate(r)
		if err != nil && (level != public || r.Header.Get("Authorization") != "") {
			if errors.Is(err, oauth.ErrNoToken) {
				respond.ErrorMessage(w, http.StatusUnauthorized, "The access token is invalid")
				return
			}
			respond.Error(w, r, h.log, err)
			return
		}
		// A token, even on a public route, must carry the route's scope:
		// it decides what its user may see (Mastodon's
		// authorize_if_got_token!).
		if a != nil && scope != "" && !coversAny(a.token.Scopes, scope) {
			respond.ErrorMessage(w, http.StatusForbidden, "This action is outside the authorized scopes")
			return
		}
		if level == userOnly && (a == nil || a.account == nil) {
			respond.ErrorMessage(w, http.StatusUnprocessableEntity, "This method requires an authenticated user")
			return
		}
		if a != nil {
			r = r.WithContext(context.WithValue(r.Context(), authKey{}, a))
		}
		next(w, r)
	}
}

func (h *handler) authenticate(r *http.Request) (*auth, error) {
	t, err := oauth.BearerToken(h.store, r)
	if err != nil {
		return nil, err
	}
	a := &auth{token: t}
	if t.AccountID == 0 {
		return a, nil
	}
	err = h.store.View(func(tx *storage.Tx) error {
		var err error
		a.account, err = tx.Account(t.AccountID)
		return err
	})
	if err != nil || a.account.Suspended {
		return nil, oauth.ErrNoToken
	}
	return a, nil
}

// coversAny reports whether granted covers one of the scopes in a
// "|"-separated list ("read:accounts|profile").
func coversAny(granted []string, scopes string) bool {
	for _, s := range strings.Split(scopes, "|") {
		if oauth.Covers(granted, s) {
			return true
		}
	}
	return false
}
