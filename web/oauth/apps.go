package oauth

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// OOB is the redirect URI of apps that cannot receive a redirect: the
// authorization page shows the code for the person to copy instead.
const OOB = "urn:ietf:wg:oauth:2.0:oob"

// Limits on registration fields, as Mastodon sets them.
const (
	maxAppNameLen     = 60
	maxWebsiteLen     = 2000
	maxRedirectURILen = 2000 // all redirect URIs, newline-joined
)

// application is Mastodon's Application entity, as verify_credentials
// returns it.
type application struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Website      *string  `json:"website"`
	Scopes       []string `json:"scopes"`
	RedirectURI  string   `json:"redirect_uri"`
	RedirectURIs []string `json:"redirect_uris"`
	ClientID     string   `json:"client_id"`
	VapidKey     string   `json:"vapid_key"`
}

// credentialApplication is the Application entity with its client secret,
// returned once, at registration.
type credentialApplication struct {
	application
	ClientSecret          string `json:"client_secret"`
	ClientSecretExpiresAt int64  `json:"client_secret_expires_at"` // 0: never
}

// renderApp is the one renderer of the Application entity.
func renderApp(a *storage.App, vapidKey string) application {
	app := application{
		ID:           a.ID.String(),
		Name:         a.Name,
		Scopes:       a.Scopes,
		RedirectURI:  strings.Join(a.RedirectURIs, "\n"),
		RedirectURIs: a.RedirectURIs,
		ClientID:     a.ClientID,
		VapidKey:     vapidKey,
	}
	if a.Website != "" {
		app.Website = &a.Website
	}
	return app
}

// POST /api/v1/apps
func (h *handler) createApp(w http.ResponseWriter, r *http.Request) {
	params, err := decodeParams(w, r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	app, err := newApp(params)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	clientSecret := newSecret()
	app.ID = h.store.NewID()
	app.ClientID = string(newSecret())
	app.ClientSecretHash = clientSecret.hash()
	app.CreatedAt = h.now().UTC()
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.CreateApp(app) }); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "app registered", "app_id", app.ID, "app_name", app.Name)
	respond.JSON(w, http.StatusOK, credentialApplication{
		application:  renderApp(app, h.in.PushKey()),
		ClientSecret: string(clientSecret),
	})
}

// newApp checks registration parameters and returns the app they
// describe, without its ID and credentials. Failures are
// *activitypub.InvalidError (422), as Mastodon answers them.
func newApp(params url.Values) (*storage.App, error) {
	name := strings.TrimSpace(params.Get("client_name"))
	switch {
	case name == "":
		return nil, &activitypub.InvalidError{Field: "client_name", Reason: "can't be blank"}
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxAppNameLen:
		return nil, &activitypub.InvalidError{Field: "client_name", Reason: "is too long (maximum is 60 characters)"}
	}
	uris, err := redirectURIs(params["redirect_uris"])
	if err != nil {
		return nil, err
	}
	scopes, err := ParseScopes(strings.Join(params["scopes"], " "))
	if err != nil {
		return nil, &activitypub.InvalidError{Field: "scopes", Reason: err.Error()}
	}
	website := strings.TrimSpace(params.Get("website"))
	if website != "" {
		u, err := url.Parse(website)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(website) > maxWebsiteLen {
			return nil, &activitypub.InvalidError{Field: "website", Reason: "must be an http or https URL"}
		}
	}
	return &storage.App{Name: name, Website: website, RedirectURIs: uris, Scopes: scopes}, nil
}

// redirectURIs reads redirect_uris: one string with a URI per line, or
// several values (a JSON array, repeated form fields). Each must be an
// absolute URI without a fragment, or OOB.
func redirectURIs(values []string) ([]string, error) {
	var uris []string
	for _, v := range values {
		for line := range strings.Lines(v) {
			line = strings.TrimSpace(line)
			if line != "" && !slices.Contains(uris, line) {
				uris = append(uris, line)
			}
		}
	}
	if len(uris) == 0 {
		return nil, &activitypub.InvalidError{Field: "redirect_uris", Reason: "can't be blank"}
	}
	if len(strings.Join(uris, "\n")) > maxRedirectURILen {
		return nil, &activitypub.InvalidError{Field: "redirect_uris", Reason: "is too long (maximum is 2000 characters)"}
	}
	for _, uri := range uris {
		if err := checkRedirectURI(uri); err != nil {
			return nil, &activitypub.InvalidError{Field: "redirect_uris", Reason: err.Error()}
		}
	}
	return uris, nil
}

// checkRedirectURI accepts an absolute URI (custom schemes included, as
// native apps use them) without a fragment, or OOB. Script-bearing schemes
// are refused.
func checkRedirectURI(uri string) error {
	if uri == OOB {
		return nil
	}
	u, err := url.Parse(uri)
	switch {
	case err != nil || !u.IsAbs():
		return errors.New("must be an absolute URI")
	case u.Fragment != "" || strings.Contains(uri, "#"):
		return errors.New("must not contain a fragment")
	case u.Scheme == "javascript" || u.Scheme == "data" || u.Scheme == "vbscript":
		return errors.New("must not use the " + u.Scheme + " scheme")
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host == "":
		return errors.New("must name a host")
	}
	return nil
}

// GET /api/v1/apps/verify_credentials
func (h *handler) verifyApp(w http.ResponseWriter, r *http.Request) {
	app, err := h.appOfToken(r)
	if errors.Is(err, ErrNoToken) {
		respond.ErrorMessage(w, http.StatusUnauthorized, "The access token is invalid")
		return
	}
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, renderApp(app, h.in.PushKey()))
}

// appOfToken returns the app of the request's bearer token, or ErrNoToken.
func (h *handler) appOfToken(r *http.Request) (*storage.App, error) {
	t, err := BearerToken(h.store, r)
	if err != nil {
		return nil, err
	}
	var app *storage.App
	err = h.store.View(func(tx *storage.Tx) error {
		var err error
		app, err = tx.App(t.AppID)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoToken
	}
	return app, err
}
