package oauth

import (
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
)

// The authorization endpoint: GET /oauth/authorize shows one page that
// both signs the person in (email and password) and asks for consent;
// POST /oauth/authorize receives it. Rhizome keeps no browser sessions,
// so the page always asks for credentials: force_login=true, which asks
// Mastodon to sign in again even when a session exists, needs no special
// handling and is carried through the form only for completeness.

// codeLifetime is how long an authorization code can be exchanged.
const codeLifetime = 10 * time.Minute

// authRequest is an authorization request that passed every check.
type authRequest struct {
	app          *storage.App
	redirectURI  string
	scopes       []string
	state        string
	responseMode string // "query", "fragment" or "form_post"
	challenge    string // PKCE; "" when the app sent none
	method       string // "S256" or "plain" when challenge is set
	forceLogin   string
}

// authError is an authorization request refused with an error page rather
// than a redirect: RFC 6749 section 4.1.2.1 forbids redirecting to a URI
// that is not known to be the app's.
type authError struct {
	heading string
	message string
}

func (e *authError) Error() string { return e.heading + ": " + e.message }

// parseAuthRequest checks an authorization request: the app, then the
// redirect URI (an exact match with one the app registered), then the rest.
// Refusals are *authError; anything else is a storage failure.
func (h *handler) parseAuthRequest(params url.Values) (*authRequest, error) {
	clientID := params.Get("client_id")
	if clientID == "" {
		return nil, &authError{"Unknown app", "The request names no client_id."}
	}
	var app *storage.App
	err := h.store.View(func(tx *storage.Tx) error {
		var err error
		app, err = tx.AppByClientID(clientID)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, &authError{"Unknown app", "No app with this client_id is registered here."}
	}
	if err != nil {
		return nil, err
	}
	req := &authRequest{app: app, redirectURI: params.Get("redirect_uri"), state: params.Get("state"), forceLogin: params.Get("force_login")}
	if !slices.Contains(app.RedirectURIs, req.redirectURI) {
		return nil, &authError{"Invalid redirect URI", "The redirect_uri is not one the app registered."}
	}
	if rt := params.Get("response_type"); rt != "code" {
		return nil, &authError{"Unsupported response type", fmt.Sprintf("response_type must be \"code\", not %q.", rt)}
	}
	req.scopes, err = ParseScopes(params.Get("scope"))
	if err != nil {
		return nil, &authError{"Invalid scope", "The app asked for an " + err.Error() + "."}
	}
	if !Subset(req.scopes, app.Scopes) {
		return nil, &authError{"Invalid scope", "The app asked for more than it registered for (" + strings.Join(app.Scopes, " ") + ")."}
	}
	switch req.responseMode = params.Get("response_mode"); req.responseMode {
	case "":
		req.responseMode = "query"
	case "query", "fragment", "form_post":
	default:
		return nil, &authError{"Unsupported response mode", fmt.Sprintf("response_mode %q is not supported.", req.responseMode)}
	}
	if req.challenge = params.Get("code_challenge"); req.challenge != "" {
		switch req.method = params.Get("code_challenge_method"); req.method {
		case "":
			req.method = pkcePlain
		case pkceS256, pkcePlain:
		default:
			return nil, &authError{"Invalid code challenge", fmt.Sprintf("code_challenge_method must be S256 or plain, not %q.", req.method)}
		}
		if !pkceValue(req.challenge) {
			return nil, &authError{"Invalid code challenge", "code_challenge must be 43 to 128 URL-safe characters."}
		}
	}
	return req, nil
}

// fields are the hidden form fields that carry the request to the POST.
func (req *authRequest) fields() []formField {
	return []formField{
		{"response_type", "code"},
		{"client_id", req.app.ClientID},
		{"redirect_uri", req.redirectURI},
		{"scope", strings.Join(req.scopes, " ")},
		{"state", req.state},
		{"response_mode", req.responseMode},
		{"code_challenge", req.challenge},
		{"code_challenge_method", req.method},
		{"force_login", req.forceLogin},
	}
}

type formField struct {
	Name, Value string
}

type scopeLine struct {
	Name, Description string
}

// authorizeData is what templates/authorize.html shows.
type authorizeData struct {
	AppName string
	Website string
	Scopes  []scopeLine
	Fields  []formField
	CSRF    string
	Email   string
	Error   string
}

// GET /oauth/authorize
func (h *handler) authorizeForm(w http.ResponseWriter, r *http.Request) {
	req, err := h.parseAuthRequest(r.URL.Query())
	if err != nil {
		h.authFailure(w, r, err)
		return
	}
	h.showForm(w, r, http.StatusOK, req, "", "")
}

// showForm renders the sign-in and consent page, with an error message
// after a failed attempt.
func (h *handler) showForm(w http.ResponseWriter, r *http.Request, code int, req *authRequest, email, message string) {
	data := authorizeData{
		AppName: req.app.Name,
		Website: req.app.Website,
		Fields:  req.fields(),
		CSRF:    h.csrfToken(w, r),
		Email:   email,
		Error:   message,
	}
	for _, s := range req.scopes {
		data.Scopes = append(data.Scopes, scopeLine{s, scopeDescription(s)})
	}
	h.render(w, r, code, h.authorizePage, data)
}

// POST /oauth/authorize
func (h *handler) authorize(w http.ResponseWriter, r *http.Request) {
	params, err := decodeParams(w, r)
	if err != nil {
		h.failure(w, r, err)
		return
	}
	req, err := h.parseAuthRequest(params)
	if err != nil {
		h.authFailure(w, r, err)
		return
	}
	if !csrfValid(r, params.Get(csrfField)) {
		h.pageError(w, r, http.StatusForbidden, "Form expired",
			"This form has expired or was not sent from this site. Go back to the app and sign in again.")
		return
	}
	switch params.Get("decision") {
	case "deny":
		h.log.InfoContext(r.Context(), "authorization denied", "app_id", req.app.ID)
		h.finish(w, r, req, url.Values{
			"error":             {"access_denied"},
			"error_description": {"The resource owner or authorization server denied the request."},
		})
		return
	case "approve":
	default:
		h.pageError(w, r, http.StatusBadRequest, "Invalid form", "The form must be sent with Authorize or Deny.")
		return
	}
	email, password := strings.TrimSpace(params.Get("email")), params.Get("password")
	if email == "" || password == "" {
		h.showForm(w, r, http.StatusUnprocessableEntity, req, email, "Enter your email address and password.")
		return
	}
	if ok, wait := h.signIns.allow(limitKey(h.addr(r))); !ok {
		minutes := int(math.Ceil(wait.Minutes()))
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		h.showForm(w, r, http.StatusTooManyRequests, req, email,
			fmt.Sprintf("Too many sign-in attempts. Try again in %d minute(s).", minutes))
		return
	}
	la, err := h.in.Authenticate(r.Context(), email, password)
	if errors.Is(err, activitypub.ErrForbidden) {
		h.showForm(w, r, http.StatusUnprocessableEntity, req, email, "Invalid email address or password.")
		return
	}
	if err != nil {
		h.failure(w, r, err)
		return
	}
	code := newSecret()
	ac := &storage.AuthCode{
		Hash:            code.hash(),
		AppID:           req.app.ID,
		AccountID:       la.Account.ID,
		Scopes:          req.scopes,
		RedirectURI:     req.redirectURI,
		Challenge:       req.challenge,
		ChallengeMethod: req.method,
		ExpiresAt:       h.now().Add(codeLifetime).UTC(),
	}
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.PutAuthCode(ac) }); err != nil {
		h.failure(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "authorization granted", "app_id", req.app.ID, "account_id", la.Account.ID)
	h.finish(w, r, req, url.Values{"code": {string(code)}})
}

// authFailure shows a refused authorization request, or a storage failure.
func (h *handler) authFailure(w http.ResponseWriter, r *http.Request, err error) {
	var refused *authError
	if errors.As(err, &refused) {
		h.pageError(w, r, http.StatusBadRequest, refused.heading, refused.message)
		return
	}
	h.failure(w, r, err)
}

// codeData is what templates/code.html shows for an OOB app.
type codeData struct {
	AppName string
	Code    string // "" when access was denied
}

// formPostData is what templates/form_post.html submits.
type formPostData struct {
	Action template.URL
	Fields []formField
}

// finish sends the result (a code or an error) back to the app, with the
// request's state, the way its response_mode asks. An OOB app gets a page
// showing the code instead.
func (h *handler) finish(w http.ResponseWriter, r *http.Request, req *authRequest, result url.Values) {
	if req.state != "" {
		result.Set("state", req.state)
	}
	if req.redirectURI == OOB {
		h.render(w, r, http.StatusOK, h.codePage, codeData{AppName: req.app.Name, Code: result.Get("code")})
		return
	}
	switch req.responseMode {
	case "form_post":
		var fields []formField
		for _, name := range []string{"code", "error", "error_description", "state"} {
			if v := result.Get(name); v != "" {
				fields = append(fields, formField{name, v})
			}
		}
		// The URI is one the app registered, and registration refuses
		// script-bearing schemes; custom schemes of native apps must pass
		// html/template's URL filter.
		h.render(w, r, http.StatusOK, h.formPostPage, formPostData{Action: template.URL(req.redirectURI), Fields: fields})
	case "fragment":
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, req.redirectURI+"#"+result.Encode(), http.StatusFound)
	default:
		location := req.redirectURI
		if u, err := url.Parse(location); err == nil && (u.RawQuery != "" || u.ForceQuery) {
			location += "&" + result.Encode()
		} else {
			location += "?" + result.Encode()
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, location, http.StatusFound)
	}
}

// scopeDescription says in plain words what a scope allows.
func scopeDescription(scope string) string {
	switch scope {
	case "read":
		return "Read all your account's data"
	case "write":
		return "Change all your account's data"
	case "follow":
		return "Follow, block and mute accounts"
	case "push":
		return "Receive your push notifications"
	case "profile":
		return "Read your profile only"
	case "admin:read":
		return "Read all data on the server"
	case "admin:write":
		return "Change all data on the server"
	}
	family, what, _ := strings.Cut(scope, ":")
	what = strings.ReplaceAll(what, "_", " ")
	switch family {
	case "read":
		return "Read your " + what
	case "write":
		return "Change your " + what
	}
	return scope
}
