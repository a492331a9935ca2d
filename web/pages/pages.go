package pages

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

//go:embed templates/*.html
var templateFiles embed.FS

type handler struct {
	in      *activitypub.Instance
	store   *storage.Store
	log     *slog.Logger
	home    *template.Template
	profile *template.Template
	status  *template.Template
}

// Mount adds the HTML page routes to r.
func Mount(r *mux.Router, in *activitypub.Instance, store *storage.Store, log *slog.Logger) {
	h := &handler{
		in:      in,
		store:   store,
		log:     log,
		home:    template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/home.html")),
		profile: template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/profile.html")),
		status:  template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/status.html")),
	}
	get := []string{http.MethodGet, http.MethodHead}
	r.HandleFunc("/", h.homePage).Methods(get...)
	r.HandleFunc("/@{username}", h.profilePage).Methods(get...)
	r.HandleFunc("/@{username}/{id:[0-9]+}", h.statusPage).Methods(get...)
}

// statusPage serves the page of a local public or unlisted status. Peers
// that ask it for ActivityPub JSON are sent to the Note.
func (h *handler) statusPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Vary", "Accept")
	a, err := h.in.LocalActor(mux.Vars(r)["username"])
	var st *storage.Status
	if err == nil {
		var id storage.ID
		if id, err = storage.ParseID(mux.Vars(r)["id"]); err == nil {
			err = h.store.View(func(tx *storage.Tx) error {
				st, err = tx.Status(id)
				return err
			})
		}
	}
	if err == nil && (st.AccountID != a.ID || st.ReblogOfID != 0 ||
		(st.Visibility != storage.VisibilityPublic && st.Visibility != storage.VisibilityUnlisted)) {
		err = &activitypub.NotFoundError{What: "status"}
	}
	if err != nil {
		h.notFoundOr(w, r, err)
		return
	}
	if respond.Negotiate(r) == respond.ActivityJSON {
		http.Redirect(w, r, st.URI, http.StatusFound)
		return
	}
	name := a.DisplayName
	if name == "" {
		name = a.Username
	}
	excerpt := []rune(st.Text)
	if len(excerpt) > 60 {
		excerpt = append(excerpt[:60], '…')
	}
	h.render(w, r, h.status, map[string]any{
		"Instance": h.instanceInfo(),
		"Account":  a,
		"Status":   st,
		"Name":     name,
		"Handle":   a.Username + "@" + h.in.Domain(),
		"Excerpt":  string(excerpt),
		// A local status's content is rendered by activitypub from plain
		// text, every part escaped, so it is safe HTML.
		"Content":   template.HTML(st.Content),
		"Published": st.CreatedAt.UTC().Format(time.RFC3339),
	})
}

// notFoundOr answers a missing page with an HTML 404, anything else with
// the error's status.
func (h *handler) notFoundOr(w http.ResponseWriter, r *http.Request, err error) {
	if respond.Status(err) == http.StatusNotFound {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<!DOCTYPE html><title>Not found</title><p>Not found here.</p>\n"))
		return
	}
	respond.Error(w, r, h.log, err)
}

type instanceInfo struct {
	Title  string
	Domain string
}

func (h *handler) instanceInfo() instanceInfo {
	return instanceInfo{Title: h.in.Title(), Domain: h.in.Domain()}
}

func (h *handler) homePage(w http.ResponseWriter, r *http.Request) {
	usage, err := h.in.Usage()
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	h.render(w, r, h.home, map[string]any{"Instance": h.instanceInfo(), "Usage": usage})
}

// profilePage serves /@{username}. Peers that ask it for ActivityPub JSON
// are sent to the actor document, as Mastodon does.
func (h *handler) profilePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Vary", "Accept")
	a, err := h.in.LocalActor(mux.Vars(r)["username"])
	if err != nil {
		h.notFoundOr(w, r, err)
		return
	}
	if respond.Negotiate(r) == respond.ActivityJSON {
		http.Redirect(w, r, a.URI, http.StatusFound)
		return
	}
	name := a.DisplayName
	if name == "" {
		name = a.Username
	}
	h.render(w, r, h.profile, map[string]any{
		"Instance": h.instanceInfo(),
		"Account":  a,
		"Name":     name,
		"Handle":   a.Username + "@" + h.in.Domain(),
		// Escaped as text until bios can be edited; that change must
		// sanitise them and may then render them as HTML.
		"Note": a.Note,
	})
}

// render executes t into a buffer first, so a template error becomes a
// clean 500 instead of half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}
