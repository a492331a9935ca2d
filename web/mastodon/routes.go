package mastodon

import (
	"context"
	"embed"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/media"
	"github.com/rhizome-fed/rhizome/web/respond"
	"github.com/rhizome-fed/rhizome/web/streaming"
)

// Options configures the API.
type Options struct {
	// Version is Rhizome's version, reported inside a Mastodon-compatible
	// version string. "" means "dev".
	Version string
	// Title names the instance. "" means the domain.
	Title string
	// RateLimit is how many requests a token (or an address without one)
	// may make in five minutes. Zero means 300, Mastodon's default;
	// negative turns the limit off (benchmarks).
	RateLimit int
	// Media bounds uploads; zero fields mean the media package's defaults.
	Media media.Limits
	// Hub carries live events to streaming clients. Nil turns the
	// streaming API off.
	Hub *streaming.Hub
	// AllowHTTPPush accepts push endpoints over plain HTTP (tests).
	AllowHTTPPush bool
	// RemoteCacheAge drops cached remote files older than this with the
	// orphan sweep; zero keeps them.
	RemoteCacheAge time.Duration
}

type handler struct {
	in        *activitypub.Instance
	store     *storage.Store
	log       *slog.Logger
	opts      Options
	idem      idempotency
	limits    limiter
	uploadsBy limiter // uploads per account, as Mastodon's media limit
	// processing holds a slot per media pipeline running: decoding a
	// large image takes hundreds of megabytes, so only a few run at once.
	processing chan struct{}
	peerCache  peerCache
	uploads    *uploads
}

// API is the mounted client API; Run does its background work.
type API struct {
	h *handler
}

// Run processes uploads in the background, removes stale ones and feeds
// committed changes to streaming clients, until ctx ends.
func (a *API) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.h.uploads.run(ctx)
	}()
	if a.h.opts.Hub != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.h.runStreaming(ctx)
		}()
	}
	wg.Wait()
}

//go:embed static/*.png
var static embed.FS

// Paths of the images shown for accounts without an avatar or header.
const (
	pathDefaultAvatar = activitypub.DefaultAvatarPath
	pathDefaultHeader = "/headers/original/missing.png"
)

// Mount adds the Mastodon client API to r.
func Mount(r *mux.Router, in *activitypub.Instance, store *storage.Store, log *slog.Logger, opts Options) *API {
	if opts.Version == "" {
		opts.Version = "dev"
	}
	h := &handler{in: in, store: store, log: log, opts: opts}
	h.uploads = newUploads(h)
	h.processing = make(chan struct{}, processingSlots)
	h.uploadsBy = limiter{now: time.Now, max: uploadLimit, window: uploadWindow}
	if opts.RateLimit < 0 {
		h.uploadsBy.max = -1
	}
	if opts.Hub != nil {
		// Before the API subrouter, which answers every other /api path.
		opts.Hub.Register(r)
	}
	// Preflights for every API path, answered by cors before the API
	// subrouter sees them (so unknown paths keep their 404).
	r.PathPrefix("/api/").Methods(http.MethodOptions).Handler(cors(http.NotFoundHandler()))
	h.limits.now = time.Now
	h.limits.max = opts.RateLimit
	if h.limits.max == 0 {
		h.limits.max = defaultRateLimit
	}
	api := r.PathPrefix("/api").Subrouter()
	api.Use(cors, h.rateLimited)
	api.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		respond.ErrorMessage(w, http.StatusNotFound, "Record not found")
	})
	api.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		respond.ErrorMessage(w, http.StatusMethodNotAllowed, "Method not allowed")
	})
	routes := []struct {
		method, path string
		level        access
		scope        string
		fn           http.HandlerFunc
	}{
		{"GET", "/v1/instance", public, "", h.instanceV1},
		{"GET", "/v2/instance", public, "", h.instanceV2},
		{"GET", "/v1/instance/peers", public, "", h.peers},
		{"GET", "/v1/instance/rules", public, "", h.emptyList},
		{"GET", "/v1/custom_emojis", public, "", h.emptyList},
		{"GET", "/v1/announcements", userOnly, "read", h.emptyList},
		{"GET", "/v1/trends/tags", public, "", h.emptyList},
		{"GET", "/v1/trends/statuses", public, "", h.emptyList},
		{"GET", "/v1/trends/links", public, "", h.emptyList},

		{"GET", "/v1/accounts/verify_credentials", userOnly, "read:accounts|profile", h.verifyCredentials},
		{"PATCH", "/v1/accounts/update_credentials", userOnly, "write:accounts", h.updateCredentials},
		{"GET", "/v1/accounts/relationships", userOnly, "read:follows", h.relationships},
		{"GET", "/v1/accounts/lookup", public, "read:accounts", h.lookup},
		{"GET", "/v1/accounts/search", public, "read:accounts", h.accountSearch},
		{"GET", "/v1/accounts/{id:[0-9]+}", public, "read:accounts", h.account},
		{"GET", "/v1/accounts/{id:[0-9]+}/statuses", public, "read:statuses", h.accountStatuses},
		{"GET", "/v1/accounts/{id:[0-9]+}/followers", public, "read:accounts", h.followers},
		{"GET", "/v1/accounts/{id:[0-9]+}/following", public, "read:accounts", h.following},
		{"POST", "/v1/accounts/{id:[0-9]+}/follow", userOnly, "write:follows", h.follow},
		{"POST", "/v1/accounts/{id:[0-9]+}/unfollow", userOnly, "write:follows", h.unfollow},
		{"POST", "/v1/accounts/{id:[0-9]+}/block", userOnly, "write:blocks", h.block},
		{"POST", "/v1/accounts/{id:[0-9]+}/unblock", userOnly, "write:blocks", h.unblock},
		{"GET", "/v1/follow_requests", userOnly, "read:follows", h.followRequests},
		{"POST", "/v1/follow_requests/{id:[0-9]+}/authorize", userOnly, "write:follows", h.authorizeFollow},
		{"POST", "/v1/follow_requests/{id:[0-9]+}/reject", userOnly, "write:follows", h.rejectFollow},

		{"POST", "/v1/statuses", userOnly, "write:statuses", h.createStatus},
		{"GET", "/v1/statuses/{id:[0-9]+}", public, "read:statuses", h.getStatus},
		{"PUT", "/v1/statuses/{id:[0-9]+}", userOnly, "write:statuses", h.editStatus},
		{"DELETE", "/v1/statuses/{id:[0-9]+}", userOnly, "write:statuses", h.deleteStatus},
		{"GET", "/v1/statuses/{id:[0-9]+}/context", public, "read:statuses", h.statusContext},
		{"POST", "/v1/statuses/{id:[0-9]+}/favourite", userOnly, "write:favourites", h.favourite},
		{"POST", "/v1/statuses/{id:[0-9]+}/unfavourite", userOnly, "write:favourites", h.unfavourite},
		{"POST", "/v1/statuses/{id:[0-9]+}/reblog", userOnly, "write:statuses", h.reblog},
		{"POST", "/v1/statuses/{id:[0-9]+}/unreblog", userOnly, "write:statuses", h.unreblog},

		{"GET", "/v1/notifications", userOnly, "read:notifications", h.notifications},
		{"GET", "/v2/notifications", userOnly, "read:notifications", h.groupedNotifications},
		{"GET", "/v1/notifications/{id:[0-9]+}", userOnly, "read:notifications", h.notification},
		{"POST", "/v1/notifications/clear", userOnly, "write:notifications", h.clearNotifications},
		{"POST", "/v1/notifications/{id:[0-9]+}/dismiss", userOnly, "write:notifications", h.dismissNotification},

		{"GET", "/v2/search", public, "read:search", h.search},
		{"GET", "/v1/preferences", userOnly, "read:accounts", h.preferences},
		{"GET", "/v1/markers", userOnly, "read:statuses", h.markers},
		{"POST", "/v1/markers", userOnly, "write:statuses", h.saveMarkers},
		{"GET", "/v1/notifications/unread_count", userOnly, "read:notifications", h.unreadCount},
		{"GET", "/v1/statuses/{id:[0-9]+}/favourited_by", public, "read:accounts", h.favouritedBy},
		{"GET", "/v1/statuses/{id:[0-9]+}/reblogged_by", public, "read:accounts", h.rebloggedBy},
		{"GET", "/v1/statuses/{id:[0-9]+}/history", public, "read:statuses", h.history},
		{"GET", "/v1/statuses/{id:[0-9]+}/source", userOnly, "read:statuses", h.source},
		{"GET", "/v1/blocks", userOnly, "read:blocks", h.blocks},
		{"GET", "/v1/mutes", userOnly, "read:mutes", h.mutes},
		{"POST", "/v1/accounts/{id:[0-9]+}/mute", userOnly, "write:mutes", h.mute},
		{"POST", "/v1/accounts/{id:[0-9]+}/unmute", userOnly, "write:mutes", h.unmute},
		{"GET", "/v1/bookmarks", userOnly, "read:bookmarks", h.bookmarks},
		{"POST", "/v1/statuses/{id:[0-9]+}/bookmark", userOnly, "write:bookmarks", h.bookmark},
		{"POST", "/v1/statuses/{id:[0-9]+}/unbookmark", userOnly, "write:bookmarks", h.unbookmark},
		{"POST", "/v1/statuses/{id:[0-9]+}/pin", userOnly, "write:accounts", h.pin},
		{"POST", "/v1/statuses/{id:[0-9]+}/unpin", userOnly, "write:accounts", h.unpin},
		{"GET", "/v1/favourites", userOnly, "read:favourites", h.favourites},

		{"GET", "/v2/filters", userOnly, "read:filters", h.filtersV2},
		{"POST", "/v2/filters", userOnly, "write:filters", h.announcesFilters(h.saveFilterV2)},
		{"GET", "/v2/filters/{id:[0-9]+}", userOnly, "read:filters", h.getFilterV2},
		{"PUT", "/v2/filters/{id:[0-9]+}", userOnly, "write:filters", h.announcesFilters(h.saveFilterV2)},
		{"DELETE", "/v2/filters/{id:[0-9]+}", userOnly, "write:filters", h.announcesFilters(h.deleteFilterV2)},
		{"GET", "/v1/filters", userOnly, "read:filters", h.filtersV1},
		{"POST", "/v1/filters", userOnly, "write:filters", h.announcesFilters(h.createFilterV1)},
		{"GET", "/v1/filters/{id:[0-9]+}", userOnly, "read:filters", h.getFilterV1},
		{"PUT", "/v1/filters/{id:[0-9]+}", userOnly, "write:filters", h.announcesFilters(h.updateFilterV1)},
		{"DELETE", "/v1/filters/{id:[0-9]+}", userOnly, "write:filters", h.announcesFilters(h.deleteFilterV1)},

		{"GET", "/v1/lists", userOnly, "read:lists", h.lists},
		{"POST", "/v1/lists", userOnly, "write:lists", h.saveList},
		{"GET", "/v1/lists/{id:[0-9]+}", userOnly, "read:lists", h.getList},
		{"PUT", "/v1/lists/{id:[0-9]+}", userOnly, "write:lists", h.saveList},
		{"DELETE", "/v1/lists/{id:[0-9]+}", userOnly, "write:lists", h.deleteList},
		{"GET", "/v1/lists/{id:[0-9]+}/accounts", userOnly, "read:lists", h.listAccounts},
		{"POST", "/v1/lists/{id:[0-9]+}/accounts", userOnly, "write:lists", h.changeListAccounts(true)},
		{"DELETE", "/v1/lists/{id:[0-9]+}/accounts", userOnly, "write:lists", h.changeListAccounts(false)},
		{"GET", "/v1/timelines/list/{id:[0-9]+}", userOnly, "read:lists", h.listTimeline},
		{"GET", "/v1/tags/{name}", public, "read:statuses", h.tag},
		{"POST", "/v1/tags/{name}/follow", userOnly, "write:follows", h.followTag(true)},
		{"POST", "/v1/tags/{name}/unfollow", userOnly, "write:follows", h.followTag(false)},
		{"GET", "/v1/followed_tags", userOnly, "read:follows", h.followedTags},

		{"GET", "/v1/conversations", userOnly, "read:statuses", h.conversations},
		{"POST", "/v1/conversations/{id:[0-9]+}/read", userOnly, "write:conversations", h.changeConversation(false)},
		{"DELETE", "/v1/conversations/{id:[0-9]+}", userOnly, "write:conversations", h.changeConversation(true)},
		{"POST", "/v1/statuses/{id:[0-9]+}/mute", userOnly, "write:mutes", h.muteThread(true)},
		{"POST", "/v1/statuses/{id:[0-9]+}/unmute", userOnly, "write:mutes", h.muteThread(false)},

		{"GET", "/v1/timelines/home", userOnly, "read:statuses", h.homeTimeline},
		{"GET", "/v1/timelines/public", public, "read:statuses", h.publicTimeline},
		{"GET", "/v1/timelines/tag/{tag}", public, "read:statuses", h.tagTimeline},

		{"POST", "/v1/media", userOnly, "write:media", h.uploadMedia(false)},
		{"POST", "/v2/media", userOnly, "write:media", h.uploadMedia(true)},
		{"GET", "/v1/media/{id:[0-9]+}", userOnly, "write:media", h.getMedia},
		{"PUT", "/v1/media/{id:[0-9]+}", userOnly, "write:media", h.updateMedia},
		{"DELETE", "/v1/media/{id:[0-9]+}", userOnly, "write:media", h.deleteMedia},

		{"POST", "/v1/push/subscription", userOnly, "push", h.subscribePush},
		{"GET", "/v1/push/subscription", userOnly, "push", h.getPushSubscription},
		{"PUT", "/v1/push/subscription", userOnly, "push", h.updatePushSubscription},
		{"DELETE", "/v1/push/subscription", userOnly, "push", h.deletePushSubscription},
	}
	for _, rt := range routes {
		api.HandleFunc(rt.path, h.guard(rt.level, rt.scope, rt.fn)).Methods(rt.method)
	}
	r.HandleFunc(pathDefaultAvatar, serveStatic("static/avatar.png")).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(pathDefaultHeader, serveStatic("static/header.png")).Methods(http.MethodGet, http.MethodHead)
	return &API{h: h}
}

func serveStatic(name string) http.HandlerFunc {
	body, _ := static.ReadFile(name)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		respond.Raw(w, http.StatusOK, "image/png", body)
	}
}

func (h *handler) emptyList(w http.ResponseWriter, _ *http.Request) {
	respond.JSON(w, http.StatusOK, []any{})
}
