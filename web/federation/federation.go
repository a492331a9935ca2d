package federation

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

type handler struct {
	in              *activitypub.Instance
	store           *storage.Store
	log             *slog.Logger
	authorizedFetch bool
}

// Options configures the federation routes.
type Options struct {
	// AuthorizedFetch makes ActivityPub GETs of actors, statuses,
	// activities and collections require a valid HTTP signature. The
	// instance actor stays open, so peers can always verify us.
	AuthorizedFetch bool
}

// Mount adds the actor and collection routes to r.
func Mount(r *mux.Router, in *activitypub.Instance, store *storage.Store, log *slog.Logger, opts Options) {
	h := &handler{in: in, store: store, log: log, authorizedFetch: opts.AuthorizedFetch}
	get := []string{http.MethodGet, http.MethodHead}
	r.HandleFunc(activitypub.PathInstance, h.instanceActor).Methods(get...)
	r.HandleFunc(activitypub.PathInstance+"/outbox", h.instanceOutbox).Methods(get...)
	r.HandleFunc("/users/{username}", h.actor).Methods(get...)
	r.HandleFunc("/users/{username}/outbox", h.collection(activitypub.Outbox)).Methods(get...)
	r.HandleFunc("/users/{username}/followers", h.collection(activitypub.Followers)).Methods(get...)
	r.HandleFunc("/users/{username}/following", h.collection(activitypub.Following)).Methods(get...)
	r.HandleFunc("/users/{username}/collections/featured", h.collection(activitypub.Featured)).Methods(get...)
	r.HandleFunc("/users/{username}/statuses/{id:[0-9]+}", h.status).Methods(get...)
	r.HandleFunc("/users/{username}/statuses/{id:[0-9]+}/activity", h.statusActivity).Methods(get...)
	r.HandleFunc("/activities/{id:[0-9]+}", h.activity).Methods(get...)
	r.HandleFunc(activitypub.PathSharedInbox, h.sharedInbox).Methods(http.MethodPost)
	r.HandleFunc(activitypub.PathInstance+"/inbox", h.sharedInbox).Methods(http.MethodPost)
	r.HandleFunc("/users/{username}/inbox", h.personalInbox).Methods(http.MethodPost)
}

// localStatus finds a status of the account named in the path that may be
// shown to anyone: public or unlisted. Others are not found.
func (h *handler) localStatus(r *http.Request) (*storage.Status, error) {
	a, err := h.localAccount(r)
	if err != nil {
		return nil, err
	}
	id, err := storage.ParseID(mux.Vars(r)["id"])
	if err != nil {
		return nil, err
	}
	var st *storage.Status
	if err := h.store.View(func(tx *storage.Tx) error {
		st, err = tx.Status(id)
		return err
	}); err != nil {
		return nil, err
	}
	if st.AccountID != a.ID || (st.Visibility != storage.VisibilityPublic && st.Visibility != storage.VisibilityUnlisted) {
		return nil, &activitypub.NotFoundError{What: "status " + id.String()}
	}
	return st, nil
}

// status serves a local status's Note, or sends browsers to its page.
func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Vary", "Accept")
	st, err := h.localStatus(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if st.ReblogOfID != 0 {
		respond.Error(w, r, h.log, &activitypub.NotFoundError{What: "note " + st.ID.String()})
		return
	}
	switch respond.Negotiate(r) {
	case respond.HTML:
		http.Redirect(w, r, st.URL, http.StatusFound)
		return
	case respond.Unacceptable:
		notAcceptable(w)
		return
	}
	h.writeDocument(w, r, func() ([]byte, error) { return h.in.NoteJSON(st) })
}

// statusActivity serves the Create activity of a local status.
func (h *handler) statusActivity(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Vary", "Accept")
	st, err := h.localStatus(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if respond.Negotiate(r) == respond.Unacceptable {
		notAcceptable(w)
		return
	}
	if st.ReblogOfID != 0 {
		h.writeDocument(w, r, func() ([]byte, error) { return h.in.AnnounceJSON(st) })
		return
	}
	h.writeDocument(w, r, func() ([]byte, error) { return h.in.CreateJSON(st) })
}

// activity serves a local activity by id: follows and likes.
func (h *handler) activity(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Vary", "Accept")
	if respond.Negotiate(r) == respond.Unacceptable {
		notAcceptable(w)
		return
	}
	uri := h.in.BaseURL() + "/activities/" + mux.Vars(r)["id"]
	h.writeDocument(w, r, func() ([]byte, error) { return h.in.ActivityJSON(uri) })
}

// sharedInbox serves POST /inbox (and the instance actor's inbox): one
// delivery for every recipient on this instance.
func (h *handler) sharedInbox(w http.ResponseWriter, r *http.Request) {
	if err := h.in.PostInbox(w, r, nil); err != nil {
		h.inboxError(w, r, err)
	}
}

// personalInbox serves POST /users/{username}/inbox.
func (h *handler) personalInbox(w http.ResponseWriter, r *http.Request) {
	a, err := h.localAccount(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if err := h.in.PostInbox(w, r, a); err != nil {
		h.inboxError(w, r, err)
	}
}

// inboxError answers a refused inbox POST or signed GET; refusals are a
// peer's doing, so they are logged as warnings, not errors.
func (h *handler) inboxError(w http.ResponseWriter, r *http.Request, err error) {
	if code := respond.Status(err); code < 500 {
		h.log.WarnContext(r.Context(), "inbox POST refused", "status", code, "err", err, "remote", r.RemoteAddr)
	}
	respond.Error(w, r, h.log, err)
}

// actor serves GET /users/{username}.
func (h *handler) actor(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Vary", "Accept")
	a, err := h.localAccount(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	switch respond.Negotiate(r) {
	case respond.HTML:
		http.Redirect(w, r, a.URL, http.StatusFound)
		return
	case respond.Unacceptable:
		notAcceptable(w)
		return
	}
	if h.authorizedFetch && !signed(r) {
		// Unsigned: only what proves the key, so peers that fetch keys
		// without signing can still verify us (Mastodon does the same).
		h.writeOpenDocument(w, r, func() ([]byte, error) { return h.in.ActorKeyJSON(a) })
		return
	}
	h.writeDocument(w, r, func() ([]byte, error) { return h.in.ActorJSON(a) })
}

// signed reports whether a request carries an HTTP signature at all.
func signed(r *http.Request) bool {
	return r.Header.Get("Signature") != "" || strings.HasPrefix(r.Header.Get("Authorization"), "Signature ")
}

// instanceActor serves GET /actor. Peers fetch it unsigned to verify our
// signed fetches, so it never requires a signature.
func (h *handler) instanceActor(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Vary", "Accept")
	switch respond.Negotiate(r) {
	case respond.HTML:
		http.Redirect(w, r, "/", http.StatusFound)
		return
	case respond.Unacceptable:
		notAcceptable(w)
		return
	}
	a, err := h.in.InstanceActor()
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.writeOpenDocument(w, r, func() ([]byte, error) { return h.in.ActorJSON(a) })
}

func (h *handler) instanceOutbox(w http.ResponseWriter, r *http.Request) {
	a, err := h.in.InstanceActor()
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.serveCollection(w, r, a, activitypub.Outbox)
}

// collection serves a local account's outbox, followers, following or
// featured collection, and its first page with ?page=1.
func (h *handler) collection(kind activitypub.CollectionKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := h.localAccount(r)
		if err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		h.serveCollection(w, r, a, kind)
	}
}

func (h *handler) serveCollection(w http.ResponseWriter, r *http.Request, a *storage.Account, kind activitypub.CollectionKind) {
	w.Header().Set("Vary", "Accept")
	if respond.Negotiate(r) == respond.Unacceptable {
		notAcceptable(w)
		return
	}
	var page *activitypub.CollectionPage
	q := r.URL.Query()
	if values, ok := q["page"]; ok {
		if len(values) != 1 || (values[0] != "1" && values[0] != "true") {
			respond.Error(w, r, h.log, &respond.BadRequest{Reason: "page must be 1 or true"})
			return
		}
		page = &activitypub.CollectionPage{}
		if maxID := q.Get("max_id"); maxID != "" {
			id, err := storage.ParseID(maxID)
			if err != nil {
				respond.Error(w, r, h.log, &respond.BadRequest{Reason: "max_id must be a status or account id"})
				return
			}
			page.MaxID = id
		}
	}
	h.writeDocument(w, r, func() ([]byte, error) { return h.in.CollectionJSON(a, kind, page) })
}

// writeDocument renders and writes an ActivityPub document. Under
// authorized fetch the request must be signed; the instance actor's
// routes call writeOpenDocument instead.
func (h *handler) writeDocument(w http.ResponseWriter, r *http.Request, render func() ([]byte, error)) {
	if h.authorizedFetch {
		if _, err := h.in.VerifyRequest(r.Context(), r); err != nil {
			w.Header().Set("WWW-Authenticate", `Signature realm="`+h.in.Domain()+`",headers="(request-target) host date"`)
			h.inboxError(w, r, err)
			return
		}
	}
	h.writeOpenDocument(w, r, render)
}

// writeOpenDocument writes a document that needs no signature.
func (h *handler) writeOpenDocument(w http.ResponseWriter, r *http.Request, render func() ([]byte, error)) {
	body, err := render()
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.Raw(w, http.StatusOK, activitypub.ContentType, body)
}

func (h *handler) localAccount(r *http.Request) (*storage.Account, error) {
	return h.in.LocalActor(mux.Vars(r)["username"])
}

func notAcceptable(w http.ResponseWriter) {
	respond.ErrorMessage(w, http.StatusNotAcceptable,
		`This resource is available as application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams" or text/html`)
}
