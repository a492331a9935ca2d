package streaming

import (
	"net/http"

	"github.com/gorilla/mux"
)

// eventPaths are the Server-Sent-Events endpoints and the stream each
// serves. /public, /public/local and /public/remote take ?only_media=true;
// /hashtag and /hashtag/local take ?tag=; /list takes ?list=.
var eventPaths = []struct{ path, stream string }{
	{"/api/v1/streaming/user", StreamUser},
	{"/api/v1/streaming/user/notification", StreamNotification},
	{"/api/v1/streaming/public", StreamPublic},
	{"/api/v1/streaming/public/local", StreamLocal},
	{"/api/v1/streaming/public/remote", StreamRemote},
	{"/api/v1/streaming/hashtag", StreamHashtag},
	{"/api/v1/streaming/hashtag/local", StreamHashtagLocal},
	{"/api/v1/streaming/list", StreamList},
	{"/api/v1/streaming/direct", StreamDirect},
}

// Register mounts the streaming endpoints on r, whose paths are absolute:
//
//	GET /api/v1/streaming          WebSocket (also /api/v1/streaming/)
//	GET /api/v1/streaming/health   "OK", no token needed
//	GET /api/v1/streaming/user …   Server-Sent Events, one path per stream
//
// Any other GET under /api/v1/streaming/ is answered 400 "Unknown channel
// requested", as Mastodon does. Register must come before any route that
// claims all of /api/ (gorilla/mux takes the first match).
func (h *Hub) Register(r *mux.Router) {
	r.HandleFunc("/api/v1/streaming/health", h.health).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/api/v1/streaming", h.serveWebSocket).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/streaming/", h.serveWebSocket).Methods(http.MethodGet)
	for _, e := range eventPaths {
		r.HandleFunc(e.path, h.serveEvents(e.stream)).Methods(http.MethodGet)
	}
	r.PathPrefix("/api/v1/streaming/").Methods(http.MethodGet).HandlerFunc(unknownChannel)
}

// health answers GET /api/v1/streaming/health: "OK", or 503 once Close has
// been called so that a load balancer stops sending clients here.
func (h *Hub) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if h.isClosed() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("Shutting down"))
		return
	}
	_, _ = w.Write([]byte("OK"))
}

func unknownChannel(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusBadRequest, "Unknown channel requested")
}
