package oauth

import (
	"crypto/subtle"
	"net/http"
)

// The sign-in form is protected against cross-site request forgery with a
// double-submit token: a random value in a SameSite=Strict, HttpOnly
// cookie, repeated in a hidden form field. A forged cross-site POST
// carries neither the cookie (SameSite) nor knowledge of its value.
const (
	csrfCookie = "rhizome_oauth_csrf"
	csrfField  = "csrf_token"
	csrfMaxAge = 3600 // seconds a form stays usable
)

// csrfToken returns the request's CSRF token, keeping the one its cookie
// holds so several open sign-in tabs share it, and (re)sets the cookie so
// it lives csrfMaxAge from now.
func (h *handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	token := string(newSecret())
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == len(token) {
		token = c.Value
	}
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookie,
		Value:    token,
		Path:     "/oauth/authorize",
		MaxAge:   csrfMaxAge,
		HttpOnly: true,
		Secure:   h.secure,
		SameSite: http.SameSiteStrictMode,
	})
	return token
}

// csrfValid reports whether the form's token equals the cookie's, compared
// in constant time.
func csrfValid(r *http.Request, formToken string) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" || formToken == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(formToken)) == 1
}
