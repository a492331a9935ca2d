// Package files serves media files: local ones from the content-addressed
// blob store, and remote attachments, avatars and headers through an
// on-demand cache, so clients never load them from other hosts directly.
package files

import (
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/storage/blobs"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// Cache lifetimes. Local files are named by their content, so they never
// change; cached remote copies may be refetched with other content.
const (
	immutable   = "public, max-age=31536000, immutable"
	proxyMaxAge = "public, max-age=86400"
)

// ProxyURL is where a remote attachment is served from this instance;
// token is its activitypub.Instance.MediaToken.
func ProxyURL(base string, media storage.ID, token string) string {
	return base + "/media/proxy/" + media.String() + "/" + token
}

// AvatarURL and HeaderURL are where a remote account's avatar and header
// are served from this instance.
func AvatarURL(base string, account storage.ID) string {
	return base + activitypub.AvatarProxyPath + account.String()
}

// HeaderURL: see AvatarURL.
func HeaderURL(base string, account storage.ID) string {
	return base + activitypub.HeaderProxyPath + account.String()
}

type handler struct {
	in    *activitypub.Instance
	store *storage.Store
	log   *slog.Logger
}

// Mount adds the file routes to r.
func Mount(r *mux.Router, in *activitypub.Instance, store *storage.Store, log *slog.Logger) {
	h := &handler{in: in, store: store, log: log}
	r.HandleFunc(activitypub.AvatarProxyPath+"{id:[0-9]+}", h.remoteProfileImage(true)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(activitypub.HeaderProxyPath+"{id:[0-9]+}", h.remoteProfileImage(false)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/media/proxy/{id:[0-9]+}/{token:[0-9a-f]+}", h.remoteAttachment).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/media/{name}", h.local).Methods(http.MethodGet, http.MethodHead)
}

// local serves a stored file by hash; the extension decides its type.
func (h *handler) local(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	ext := path.Ext(name)
	mime, ok := activitypub.MediaMIME(ext)
	if !ok {
		respond.ErrorMessage(w, http.StatusNotFound, "Not found")
		return
	}
	h.serveBlob(w, r, strings.TrimSuffix(name, ext), mime, immutable)
}

func (h *handler) serveBlob(w http.ResponseWriter, r *http.Request, hash, mime, cacheControl string) {
	// A file no record holds any more (a deleted post's picture) is gone
	// for clients at once, before its removal from disk.
	var refs uint64
	if err := h.store.View(func(tx *storage.Tx) error {
		var err error
		refs, err = tx.BlobRefs(hash)
		return err
	}); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if refs == 0 {
		respond.ErrorMessage(w, http.StatusNotFound, "Not found")
		return
	}
	f, err := h.store.Blobs().Open(hash)
	if errors.Is(err, blobs.ErrNotFound) || errors.Is(err, blobs.ErrInvalidHash) {
		respond.ErrorMessage(w, http.StatusNotFound, "Not found")
		return
	}
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", mime)
	hdr.Set("Cache-Control", cacheControl)
	hdr.Set("ETag", `"`+hash+`"`)
	// A file is never a page: no scripts, no sniffing into HTML.
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hdr.Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, "", info.ModTime(), f) // ranges, If-None-Match, HEAD
}

func (h *handler) remoteAttachment(w http.ResponseWriter, r *http.Request) {
	id, err := storage.ParseID(mux.Vars(r)["id"])
	if err != nil || !h.in.ValidMediaToken(id, mux.Vars(r)["token"]) {
		respond.ErrorMessage(w, http.StatusNotFound, "Not found")
		return
	}
	var m *storage.Media
	if err := h.store.View(func(tx *storage.Tx) error {
		m, err = tx.Media(id)
		return err
	}); err != nil || m.Local() {
		respond.ErrorMessage(w, http.StatusNotFound, "Not found")
		return
	}
	h.serveRemote(w, r, m.RemoteURL)
}

func (h *handler) remoteProfileImage(avatar bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := storage.ParseID(mux.Vars(r)["id"])
		if err != nil {
			respond.ErrorMessage(w, http.StatusNotFound, "Not found")
			return
		}
		var a *storage.Account
		if err := h.store.View(func(tx *storage.Tx) error {
			a, err = tx.Account(id)
			return err
		}); err != nil || a.Local() || a.Suspended {
			respond.ErrorMessage(w, http.StatusNotFound, "Not found")
			return
		}
		link := a.HeaderURL
		if avatar {
			link = a.AvatarURL
		}
		if link == "" {
			respond.ErrorMessage(w, http.StatusNotFound, "Not found")
			return
		}
		h.serveRemote(w, r, link)
	}
}

// serveRemote serves the cached copy of a remote file, fetching it first
// when needed. A file that cannot be fetched is a 404 (for the client, it
// is simply not there) and is logged.
func (h *handler) serveRemote(w http.ResponseWriter, r *http.Request, link string) {
	if r.Header.Get(activitypub.ProxyHeader) != "" {
		// Our own fetch, led back here by a redirect: never fetch again.
		respond.ErrorMessage(w, http.StatusNotFound, "Not found")
		return
	}
	f, err := h.in.RemoteFile(r.Context(), link)
	if err != nil {
		h.log.InfoContext(r.Context(), "remote file not served", "url", link, "err", err)
		respond.ErrorMessage(w, http.StatusNotFound, "Not found")
		return
	}
	h.serveBlob(w, r, f.Hash, f.MIME, proxyMaxAge)
}
