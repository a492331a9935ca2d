package oauth

import "net/http"

// Browser apps (Elk, Phanpy …) register, exchange codes and revoke from
// their own origin. The JSON endpoints therefore allow any origin, as
// Mastodon does: they take credentials in headers or bodies, never
// cookies, so a foreign origin gains nothing it could not do without a
// browser. The authorization page is not shared.

// cors adds the CORS headers to a JSON endpoint's answers.
func cors(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			w.Header().Set("Access-Control-Allow-Origin", "*")
		}
		next(w, r)
	}
}

// preflight answers a CORS preflight request.
func preflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}
