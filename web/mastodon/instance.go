package mastodon

import (
	"cmp"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/media"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// Limits clients read from the instance's configuration.
const (
	maxCharacters    = 5000
	charactersPerURL = 23
)

// apiVersion is the Mastodon version apps see; they detect features by it.
func (h *handler) apiVersion() string {
	return "4.3.0 (compatible; Rhizome " + h.opts.Version + ")"
}

func (h *handler) title() string { return cmp.Or(h.opts.Title, h.in.Title()) }

func (h *handler) statusesConfig() map[string]any {
	return map[string]any{"max_characters": maxCharacters, "max_media_attachments": h.in.MaxAttachments(),
		"characters_reserved_per_url": charactersPerURL}
}

func (h *handler) mediaConfig() map[string]any {
	l := h.opts.mediaLimits()
	return map[string]any{"supported_mime_types": media.MIMETypes(), "image_size_limit": l.MaxImageBytes,
		"image_matrix_limit": l.MaxImagePixels, "video_size_limit": l.MaxVideoBytes, "video_frame_rate_limit": 120,
		"video_matrix_limit": l.MaxImagePixels, "description_limit": maxDescriptionChars}
}

// streamingURL is the streaming API's base, as clients expect it.
func (h *handler) streamingURL() string {
	if strings.HasPrefix(h.in.BaseURL(), "http://") {
		return "ws://" + h.in.Domain()
	}
	return "wss://" + h.in.Domain()
}

func pollsConfig() map[string]any {
	return map[string]any{"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300, "max_expiration": 2629746}
}

// instanceV1 serves GET /api/v1/instance.
func (h *handler) instanceV1(w http.ResponseWriter, r *http.Request) {
	usage, err := h.in.Usage()
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	domains := h.knownDomains()
	respond.JSON(w, http.StatusOK, map[string]any{
		"uri": h.in.Domain(), "title": h.title(), "short_description": "", "description": "",
		"email": "", "version": h.apiVersion(),
		"urls":      map[string]any{"streaming_api": h.streamingURL()},
		"stats":     map[string]any{"user_count": usage.Users, "status_count": usage.LocalPosts, "domain_count": len(domains)},
		"thumbnail": h.in.BaseURL() + pathDefaultHeader, "languages": []string{"en"},
		"registrations": false, "approval_required": false, "invites_enabled": false,
		"configuration": map[string]any{
			"accounts": map[string]any{"max_featured_tags": 10, "max_pinned_statuses": 5},
			"statuses": h.statusesConfig(), "media_attachments": h.mediaConfig(), "polls": pollsConfig(),
		},
		"contact_account": h.contactAccount(), "rules": []any{},
	})
}

// instanceV2 serves GET /api/v2/instance.
func (h *handler) instanceV2(w http.ResponseWriter, r *http.Request) {
	usage, err := h.in.Usage()
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{
		"domain": h.in.Domain(), "title": h.title(), "version": h.apiVersion(),
		"source_url": "https://github.com/rhizome-fed/rhizome", "description": "",
		"usage":     map[string]any{"users": map[string]any{"active_month": usage.ActiveMonth}},
		"thumbnail": map[string]any{"url": h.in.BaseURL() + pathDefaultHeader},
		"icon":      []any{},
		"languages": []string{"en"},
		"configuration": map[string]any{
			"urls":              map[string]any{"streaming": h.streamingURL(), "status": nil},
			"vapid":             map[string]any{"public_key": h.in.PushKey()},
			"accounts":          map[string]any{"max_featured_tags": 10, "max_pinned_statuses": 5},
			"statuses":          h.statusesConfig(),
			"media_attachments": h.mediaConfig(),
			"polls":             pollsConfig(),
			"translation":       map[string]any{"enabled": false},
		},
		"registrations": map[string]any{"enabled": false, "approval_required": false, "message": nil, "url": nil},
		"api_versions":  map[string]any{"mastodon": 2},
		"contact":       map[string]any{"email": "", "account": h.contactAccount()},
		"rules":         []any{},
	})
}

// peers serves GET /api/v1/instance/peers: the hosts we know accounts on.
func (h *handler) peers(w http.ResponseWriter, r *http.Request) {
	respond.JSON(w, http.StatusOK, h.knownDomains())
}

// peersMaxAge is how long the list of known hosts is reused: building it
// walks the account index, which anonymous requests must not trigger each
// time.
const peersMaxAge = 5 * time.Minute

// peerCache holds the known hosts.
type peerCache struct {
	mu      sync.Mutex
	at      time.Time
	domains []string
}

func (h *handler) knownDomains() []string {
	c := &h.peerCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.domains != nil && time.Since(c.at) < peersMaxAge {
		return c.domains
	}
	domains := []string{}
	_ = h.store.View(func(tx *storage.Tx) error {
		found, err := tx.KnownDomains(100000)
		domains = append(domains, found...)
		return err
	})
	c.at, c.domains = time.Now(), domains
	return domains
}

// contactAccount is the first administrator (or, without one, the first
// account) as an Account entity, which some apps read from the instance;
// nil on an instance with no accounts.
func (h *handler) contactAccount() any {
	var first, admin *storage.Account
	_ = h.store.View(func(tx *storage.Tx) error {
		return tx.ForEachUser(func(a *storage.Account, u *storage.User) error {
			if first == nil {
				first = a
			}
			if u.Admin {
				admin = a
				return errStop
			}
			return nil
		})
	})
	contact := admin
	if contact == nil {
		contact = first
	}
	if contact == nil {
		return nil
	}
	return h.renderer(nil).account(contact)
}

// errStop ends a ForEach walk early.
var errStop = errors.New("stop")
