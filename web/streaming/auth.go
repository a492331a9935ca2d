package streaming

import (
	"fmt"
	"net/http"
	"strings"
)

// authenticate finds the request's token, as Mastodon does: the
// Authorization header, else the access_token query parameter, else (for
// WebSockets, whose browser API cannot set headers) the first
// Sec-WebSocket-Protocol value; and resolves it through the Backend.
func (h *Hub) authenticate(r *http.Request, fromProtocol bool) (Viewer, error) {
	token := bearerToken(r)
	if token == "" {
		token = r.URL.Query().Get("access_token")
	}
	if token == "" && fromProtocol {
		token = firstProtocol(r)
	}
	if token == "" {
		return Viewer{}, &clientError{http.StatusUnauthorized, "Missing access token"}
	}
	v, err := h.backend.Authenticate(r.Context(), token)
	if err != nil {
		return Viewer{}, fmt.Errorf("authenticate: %w", err)
	}
	return v, nil
}

// bearerToken is the token of an "Authorization: Bearer …" header, or "".
func bearerToken(r *http.Request) string {
	const prefix = "bearer "
	a := r.Header.Get("Authorization")
	if len(a) > len(prefix) && strings.EqualFold(a[:len(prefix)], prefix) {
		return strings.TrimSpace(a[len(prefix):])
	}
	return ""
}

// firstProtocol is the first subprotocol the client offered, or "".
func firstProtocol(r *http.Request) string {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				return p
			}
		}
	}
	return ""
}

// refuse answers a request that will not be streamed with {"error": …}
// and the status classify picks; a 5xx is logged with its cause.
func (h *Hub) refuse(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := classify(err)
	if code >= 500 && code != http.StatusServiceUnavailable {
		h.log.ErrorContext(r.Context(), "stream request failed", "path", r.URL.Path, "err", err)
	}
	writeError(w, code, msg)
}
