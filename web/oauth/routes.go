package oauth

import (
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
)

// Options configures Mount. The zero value is usable.
type Options struct {
	// Now is the clock for code expiry, token times and rate-limit
	// windows. Nil means time.Now; tests pin it.
	Now func() time.Time
	// SignInLimit is how many sign-in attempts one client address may make
	// per SignInWindow. Zero means 10.
	SignInLimit int
	// SignInWindow is the rate-limit window for sign-in attempts. Zero
	// means 5 minutes.
	SignInWindow time.Duration
	// ClientAddr returns the address a request comes from, for rate
	// limiting. Nil means the host part of RemoteAddr; set it when the
	// server runs behind a reverse proxy. IPv6 addresses are grouped by
	// their /64 prefix.
	ClientAddr func(r *http.Request) netip.Addr
	// OnRevoke, if set, hears the hash of each revoked token after the
	// revocation commits (the streaming hub ends its connections).
	OnRevoke func(tokenHash []byte)
}

// maxSignInKeys bounds the rate limiter's memory: at most this many client
// addresses are tracked at once.
const maxSignInKeys = 10000

type handler struct {
	in      *activitypub.Instance
	store   *storage.Store
	log     *slog.Logger
	now     func() time.Time
	addr    func(r *http.Request) netip.Addr
	signIns *limiter
	secure  bool // cookies carry the Secure flag (the instance serves HTTPS)
	// onRevoke hears revoked tokens' hashes; nil when nobody listens.
	onRevoke func(tokenHash []byte)

	authorizePage *template.Template
	codePage      *template.Template
	errorPage     *template.Template
	formPostPage  *template.Template
}

// Mount adds the OAuth 2 routes to r: app registration, the sign-in and
// consent page, the token and revocation endpoints and the RFC 8414
// metadata. A nil log discards logs.
func Mount(r *mux.Router, in *activitypub.Instance, store *storage.Store, log *slog.Logger, opts Options) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SignInLimit <= 0 {
		opts.SignInLimit = 10
	}
	if opts.SignInWindow <= 0 {
		opts.SignInWindow = 5 * time.Minute
	}
	if opts.ClientAddr == nil {
		opts.ClientAddr = remoteAddr
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &handler{
		in:            in,
		store:         store,
		log:           log,
		now:           opts.Now,
		addr:          opts.ClientAddr,
		onRevoke:      opts.OnRevoke,
		signIns:       newLimiter(opts.SignInLimit, opts.SignInWindow, maxSignInKeys, opts.Now),
		secure:        strings.HasPrefix(in.BaseURL(), "https://"),
		authorizePage: parsePage("authorize.html"),
		codePage:      parsePage("code.html"),
		errorPage:     parsePage("error.html"),
		formPostPage:  parsePage("form_post.html"),
	}
	get := []string{http.MethodGet, http.MethodHead}

	r.HandleFunc("/api/v1/apps", cors(h.createApp)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/apps/verify_credentials", cors(h.verifyApp)).Methods(get...)
	r.HandleFunc("/oauth/authorize", h.authorizeForm).Methods(get...)
	r.HandleFunc("/oauth/authorize", h.authorize).Methods(http.MethodPost)
	r.HandleFunc("/oauth/token", cors(h.token)).Methods(http.MethodPost)
	r.HandleFunc("/oauth/revoke", cors(h.revoke)).Methods(http.MethodPost)
	r.HandleFunc(PathMetadata, cors(h.metadata)).Methods(get...)

	for _, path := range []string{"/api/v1/apps", "/api/v1/apps/verify_credentials", "/oauth/token", "/oauth/revoke", PathMetadata} {
		r.HandleFunc(path, preflight).Methods(http.MethodOptions)
	}
}
