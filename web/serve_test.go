package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/web/adminapi"
)

// signalHandler is a slog handler that closes a channel when a message
// is logged, so tests can wait for a point in the server's life.
type signalHandler struct {
	slog.Handler
	mu      sync.Mutex
	waiting map[string]chan struct{}
}

func newSignalHandler() *signalHandler {
	return &signalHandler{Handler: slog.NewTextHandler(io.Discard, nil), waiting: map[string]chan struct{}{}}
}

func (h *signalHandler) on(msg string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan struct{})
	h.waiting[msg] = ch
	return ch
}

func (h *signalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	if ch, ok := h.waiting[r.Message]; ok {
		close(ch)
		delete(h.waiting, r.Message)
	}
	h.mu.Unlock()
	return nil
}

func (h *signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *signalHandler) WithGroup(string) slog.Handler      { return h }

// TestServe_gracefulShutdown cancels Serve while a request is in flight:
// the request completes, then Serve returns nil and the store closes
// cleanly.
func TestServe_gracefulShutdown(t *testing.T) {
	logs := newSignalHandler()
	dir := t.TempDir()
	srv, err := New(t.Context(), Options{Domain: "a.test", DataDir: dir, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	app := srv.handler
	srv.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
			_, _ = io.WriteString(w, "finished")
			return
		}
		app.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	serving := logs.on("serving")
	go func() { served <- srv.Serve(ctx, ln, nil) }()
	<-serving

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	guard := time.After(30 * time.Second) // hang guard only
	select {
	case <-entered:
	case <-guard:
		t.Fatal("request never reached the handler")
	}
	shuttingDown := logs.on("shutting down")
	cancel()
	<-shuttingDown
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) while a request was in flight", err)
	default:
	}
	close(release)
	select {
	case r := <-got:
		if r.err != nil || r.body != "finished" {
			t.Fatalf("in-flight request: %q, %v", r.body, r.err)
		}
	case <-guard:
		t.Fatal("in-flight request never finished")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-guard:
		t.Fatal("Serve did not return after shutdown")
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	// The data reopens at once: the lock was released and the file is sound.
	again, err := New(t.Context(), Options{Domain: "a.test", DataDir: dir, LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := again.Store().Check(); err != nil {
		t.Fatal(err)
	}
}

// TestServe_adminSocket administers a running server through its socket.
func TestServe_adminSocket(t *testing.T) {
	logs := newSignalHandler()
	srv, err := New(t.Context(), Options{Domain: "a.test", DataDir: t.TempDir(), Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	serving := logs.on("serving")
	go func() { served <- srv.Serve(ctx, ln, nil) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	<-serving

	info, err := os.Stat(srv.AdminSocketPath())
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Type() != os.ModeSocket || info.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket mode %v, want a socket with mode 0600", info.Mode())
	}
	client, err := adminapi.Dial(t.Context(), srv.AdminSocketPath())
	if err != nil {
		t.Fatal(err)
	}
	created, err := client.CreateAccount(t.Context(), adminapi.NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	if created.Username != "alice" || !created.Admin {
		t.Fatalf("created %+v", created)
	}
	if err := client.SetSuspended(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	accounts, err := client.ListAccounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != 1 || !accounts[0].Suspended {
		t.Fatalf("accounts %+v", accounts)
	}
	if reports, err := client.ListReports(t.Context()); err != nil || len(reports) != 0 {
		t.Fatalf("reports %+v, %v", reports, err)
	}
	// The change is visible to the running server at once.
	la, err := srv.Instance().LocalAccount("alice")
	if err != nil || !la.Account.Suspended {
		t.Fatalf("server sees %+v, %v", la, err)
	}
	tests := []struct {
		name   string
		call   func() error
		status int
		msg    string
	}{
		{"unknown user", func() error { return client.SetAdmin(t.Context(), "bob", true) }, 404, `local account "bob" not found`},
		{"taken username", func() error {
			_, err := client.CreateAccount(t.Context(), adminapi.NewAccount{Username: "alice", Email: "x@example.org", Password: "correct horse"})
			return err
		}, 422, "username is already taken"},
		{"weak password", func() error { return client.SetPassword(t.Context(), "alice", "short") }, 422, "password is too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var remote *adminapi.RemoteError
			if err := tt.call(); !errors.As(err, &remote) || remote.Status != tt.status || !strings.HasPrefix(remote.Message, tt.msg) {
				t.Fatalf("got %v, want %d %q", err, tt.status, tt.msg)
			}
		})
	}
	// Malformed requests straight to the socket get 400, not 500.
	transport := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", srv.AdminSocketPath())
	}}
	resp, err := (&http.Client{Transport: transport}).Post("http://admin/accounts", "application/json", strings.NewReader(`{"username":`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed JSON: status %d, want 400", resp.StatusCode)
	}
	// A chunked body over the limit is cut off while reading: 413.
	huge := io.MultiReader(strings.NewReader(`{"username":"`), strings.NewReader(strings.Repeat("a", 1<<20)), strings.NewReader(`"}`))
	req, _ := http.NewRequest(http.MethodPost, "http://admin/accounts", huge)
	req.ContentLength = -1 // chunked: no Content-Length to refuse early
	resp, err = (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized chunked body: status %d, want 413", resp.StatusCode)
	}
}

func TestAdminSocket_noServer(t *testing.T) {
	_, err := adminapi.Dial(t.Context(), AdminSocketPath(t.TempDir()))
	if !errors.Is(err, adminapi.ErrNoServer) {
		t.Fatalf("got %v, want ErrNoServer", err)
	}
}

func TestRecoverPanics(t *testing.T) {
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	h := requestIDs(recoverPanics(log, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/explode", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"error"`) {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Fatal("panic value leaked to the client")
	}
	out := logged.String()
	for _, want := range []string{"panic serving request", "panic=boom", "path=/explode", "goroutine ", "request_id="} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestLogRequests(t *testing.T) {
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	srv, err := New(t.Context(), Options{Domain: "a.test", DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := srv.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/no/such/page", nil))
	out := logged.String()
	for _, want := range []string{`"msg":"request"`, `"status":404`, `"path":"/no/such/page"`, `"method":"GET"`, `"request_id":"` + rec.Header().Get("X-Request-Id") + `"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}
