package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/adminapi"
	"github.com/rhizome-fed/rhizome/web/federation"
	"github.com/rhizome-fed/rhizome/web/files"
	"github.com/rhizome-fed/rhizome/web/mastodon"
	"github.com/rhizome-fed/rhizome/web/media"
	"github.com/rhizome-fed/rhizome/web/oauth"
	"github.com/rhizome-fed/rhizome/web/pages"
	"github.com/rhizome-fed/rhizome/web/respond"
	"github.com/rhizome-fed/rhizome/web/streaming"
	"github.com/rhizome-fed/rhizome/web/wellknown"
)

// DatabaseFile is the bbolt file's name inside the data folder.
const DatabaseFile = "rhizome.db"

// Options configures a Server. Domain and DataDir are required.
type Options struct {
	Domain   string // "a.test" or "localhost:8080"; part of every ID
	Protocol string // "https" (zero value) or "http"
	Title    string // "" means the domain
	DataDir  string // folder for the database and the admin socket
	Version  string // shown in NodeInfo; "" means "dev"
	// MaxBodyBytes caps request bodies. Zero means 1 MiB.
	MaxBodyBytes int64
	// ShutdownTimeout bounds how long Serve waits for in-flight requests
	// after its context ends. Zero means 30 seconds.
	ShutdownTimeout time.Duration
	// LockTimeout is how long to wait for another process to release the
	// database. Zero means one second.
	LockTimeout time.Duration
	Logger      *slog.Logger     // nil discards logs
	Now         func() time.Time // nil means time.Now
	// AllowPrivateAddresses lets fetches and deliveries reach loopback and
	// private addresses (tests, labs). Off, they are refused.
	AllowPrivateAddresses bool
	// Dial replaces the outbound dialer; tests map host names to listeners.
	Dial activitypub.DialFunc
	// DeliveryMaxAge is how long failing deliveries are retried. Zero
	// means 72 hours.
	DeliveryMaxAge time.Duration
	// DeliveryRetryBase is the first retry wait. Zero means 30 seconds.
	DeliveryRetryBase time.Duration
	// AuthorizedFetch requires signed GETs for ActivityPub documents other
	// than the instance actor.
	AuthorizedFetch bool
	// APIRateLimit is requests per five minutes per token or address on
	// the client API. Zero means 300; negative turns it off.
	APIRateLimit int
	// Media bounds uploads; zero fields mean the defaults.
	Media media.Limits
	// MaxAttachments is how many files a post may carry. Zero means 4.
	MaxAttachments int
	// RemoteCacheAge drops cached copies of remote files fetched longer
	// ago than this, every few hours. Zero keeps them until pruned.
	RemoteCacheAge time.Duration
	// StreamingHeartbeat is how often idle streaming connections are
	// pinged. Zero means 30 seconds.
	StreamingHeartbeat time.Duration
}

// Server is an assembled Rhizome instance ready to serve HTTP.
type Server struct {
	opts    Options
	store   *storage.Store
	in      *activitypub.Instance
	hub     *streaming.Hub
	api     *mastodon.API
	handler http.Handler
	log     *slog.Logger
}

// New opens the data folder (creating it if needed), the database and the
// instance, and builds the HTTP handler. Close releases them.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("web: Options.DataDir is required")
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	if info, err := os.Stat(opts.DataDir); err == nil && info.Mode().Perm()&0o077 != 0 {
		opts.Logger.WarnContext(ctx, "data folder is accessible to other users; it holds private keys (chmod 700 it)",
			"path", opts.DataDir, "mode", info.Mode().Perm().String())
	}
	store, err := storage.Open(filepath.Join(opts.DataDir, DatabaseFile), storage.Options{LockTimeout: opts.LockTimeout, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	in, err := activitypub.New(ctx, store, activitypub.Options{
		Domain: opts.Domain, Protocol: opts.Protocol, Title: opts.Title, Logger: opts.Logger, Now: opts.Now,
		AllowPrivateAddresses: opts.AllowPrivateAddresses, Dial: opts.Dial, Version: opts.Version,
		DeliveryMaxAge: opts.DeliveryMaxAge, DeliveryRetryBase: opts.DeliveryRetryBase,
		MaxAttachments: opts.MaxAttachments, SniffMedia: sniffMIME,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		opts.Logger.WarnContext(ctx, "ffmpeg not found: video and sound uploads are stored as sent, metadata (such as location) included, without a preview")
	}
	s := &Server{opts: opts, store: store, in: in, log: opts.Logger}
	s.hub = streaming.New(streaming.Options{Backend: mastodon.StreamingBackend(in, store),
		Heartbeat: opts.StreamingHeartbeat, Logger: opts.Logger})
	s.handler = s.routes()
	return s, nil
}

func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		respond.ErrorMessage(w, http.StatusNotFound, "Not found")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		respond.ErrorMessage(w, http.StatusMethodNotAllowed, "Method not allowed")
	})
	wellknown.Mount(r, s.in, wellknown.Software{
		Name: "rhizome", Version: s.opts.Version,
		Repository: "https://github.com/rhizome-fed/rhizome", Homepage: "https://github.com/rhizome-fed/rhizome",
	}, s.log)
	federation.Mount(r, s.in, s.store, s.log, federation.Options{AuthorizedFetch: s.opts.AuthorizedFetch})
	pages.Mount(r, s.in, s.store, s.log)
	files.Mount(r, s.in, s.store, s.log)
	oauth.Mount(r, s.in, s.store, s.log, oauth.Options{Now: s.opts.Now, OnRevoke: func(tokenHash []byte) {
		s.hub.Disconnect(mastodon.StreamingSession(tokenHash))
	}})
	s.api = mastodon.Mount(r, s.in, s.store, s.log, mastodon.Options{Version: s.opts.Version, Title: s.opts.Title,
		RateLimit: s.opts.APIRateLimit, Media: s.opts.Media, Hub: s.hub, AllowHTTPPush: s.opts.AllowPrivateAddresses,
		RemoteCacheAge: s.opts.RemoteCacheAge})
	bodyLimit := func(r *http.Request) int64 {
		if limit, ok := mastodon.UploadBodyLimit(r, s.opts.Media); ok {
			return max(limit, s.opts.MaxBodyBytes)
		}
		return s.opts.MaxBodyBytes
	}
	// Middleware wraps the router itself, not r.Use, so that 404s and 405s
	// are logged and size-limited too.
	return requestIDs(logRequests(s.log, recoverPanics(s.log, limitBodies(bodyLimit, r))))
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Instance returns the running instance.
func (s *Server) Instance() *activitypub.Instance { return s.in }

// Store returns the open store.
func (s *Server) Store() *storage.Store { return s.store }

// AdminSocketPath returns where Serve listens for admin commands.
func (s *Server) AdminSocketPath() string { return AdminSocketPath(s.opts.DataDir) }

// AdminSocketPath returns the admin socket's path for a data folder.
func AdminSocketPath(dataDir string) string { return filepath.Join(dataDir, adminapi.SocketName) }

// TLS names a certificate and key for serving HTTPS directly.
type TLS struct {
	CertFile, KeyFile string
}

// Serve answers HTTP on ln, and admin commands on the admin socket, until
// ctx ends; then it stops accepting, lets in-flight requests finish (up to
// ShutdownTimeout) and returns nil. With tls set it serves HTTPS.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tls *TLS) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	admin, adminLn, err := s.listenAdmin(ctx)
	if err != nil {
		return err
	}
	errs := make(chan error, 2)
	go func() {
		if tls != nil {
			errs <- srv.ServeTLS(ln, tls.CertFile, tls.KeyFile)
		} else {
			errs <- srv.Serve(ln)
		}
	}()
	if admin != nil {
		go func() { errs <- admin.Serve(adminLn) }()
	}
	deliveryCtx, stopDelivery := context.WithCancel(context.WithoutCancel(ctx))
	deliveryDone := make(chan struct{})
	go func() {
		defer close(deliveryDone)
		s.in.RunDelivery(deliveryCtx)
	}()
	apiDone := make(chan struct{})
	go func() {
		defer close(apiDone)
		s.api.Run(deliveryCtx)
	}()
	s.log.InfoContext(ctx, "serving", "addr", ln.Addr().String(), "url", s.in.BaseURL(), "admin_socket", s.AdminSocketPath())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errs:
	}
	s.log.InfoContext(ctx, "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	// Streaming connections never go idle: end them first, or Shutdown
	// would wait for them until its timeout.
	s.hub.Close()
	shutdownErr := srv.Shutdown(shutdownCtx)
	if admin != nil {
		shutdownErr = errors.Join(shutdownErr, admin.Shutdown(shutdownCtx))
		os.Remove(s.AdminSocketPath())
	}
	// Deliveries in flight finish (or time out) and are recorded; the rest
	// wait in the queue for the next start.
	stopDelivery()
	<-deliveryDone
	<-apiDone
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return shutdownErr
}

// listenAdmin opens the admin socket. Holding the database lock means no
// other server uses this data folder, so a socket file left there is stale.
// A path too long for a Unix socket disables the socket with a warning:
// admin commands then need the server stopped.
func (s *Server) listenAdmin(ctx context.Context) (*http.Server, net.Listener, error) {
	path := s.AdminSocketPath()
	if len(path) >= 104 {
		s.log.WarnContext(ctx, "admin socket disabled: data folder path too long for a Unix socket", "path", path)
		return nil, nil, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("remove stale admin socket: %w", err)
	}
	// Create the socket with mode 0600 from the start: a chmod afterwards
	// would leave a window in which others could connect. The umask is
	// process-wide, but nothing else creates files while the server starts.
	oldMask := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(oldMask)
	if err != nil {
		return nil, nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("admin socket: %w", err)
	}
	srv := &http.Server{
		Handler:           recoverPanics(s.log, adminapi.Handler(s.in, s.log)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return srv, ln, nil
}

// Close closes the database. Call it after Serve has returned.
func (s *Server) Close() error { return s.store.Close() }

// sniffMIME tells a remote file's type by its content, as uploads are.
func sniffMIME(head []byte) string {
	mime, _ := media.Sniff(head)
	return mime
}
