package oauth

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/rhizome-fed/rhizome/storage"
)

// errBadClient reports client credentials that are missing, unknown or
// wrong; callers cannot tell which.
var errBadClient = errors.New("oauth: client authentication failed")

// clientCredentials returns the client id and secret from HTTP Basic
// authentication (client_secret_basic, whose parts are form-encoded per
// RFC 6749 section 2.3.1) or, failing that, from the parameters
// (client_secret_post). basic reports which was used.
func clientCredentials(r *http.Request, params url.Values) (id, secret string, basic bool) {
	if user, pass, ok := r.BasicAuth(); ok {
		id, errID := url.QueryUnescape(user)
		secret, errSecret := url.QueryUnescape(pass)
		if errID != nil || errSecret != nil {
			return "", "", true
		}
		return id, secret, true
	}
	return params.Get("client_id"), params.Get("client_secret"), false
}

// authenticateClient returns the app whose client id and secret these are,
// or errBadClient. A client id given both ways must agree.
func (h *handler) authenticateClient(r *http.Request, params url.Values) (app *storage.App, basic bool, err error) {
	id, secret, basic := clientCredentials(r, params)
	if id == "" || secret == "" || len(id) > 512 || len(secret) > 512 {
		return nil, basic, errBadClient
	}
	if posted := params.Get("client_id"); basic && posted != "" && posted != id {
		return nil, basic, errBadClient
	}
	err = h.store.View(func(tx *storage.Tx) error {
		var err error
		app, err = tx.AppByClientID(id)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, basic, errBadClient
	}
	if err != nil {
		return nil, basic, err
	}
	if !secretMatches(secret, app.ClientSecretHash) {
		return nil, basic, errBadClient
	}
	return app, basic, nil
}
