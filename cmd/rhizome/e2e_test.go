package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/storage/blobs"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// rhizomeBinary builds the real binary once per test run.
func rhizomeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rhizome-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "rhizome")
		out, err := exec.Command("go", "build", "-ldflags", "-X main.version=v0.0.0-e2e", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs the binary to completion.
func runCLI(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), rhizomeBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliResult{code, stdout.String(), stderr.String()}
}

// TestEndToEnd builds the binary, creates accounts with the CLI with and
// without a running server, resolves an account over WebFinger and fetches
// its actor over real HTTP, and stops the server with SIGTERM.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	dir := t.TempDir()
	// The instance is known as e2e.test; it listens on a port the kernel
	// picks, which the test reads from the server's log.
	const domain = "e2e.test"
	cfg := filepath.Join(dir, "rhizome.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
[instance]
domain = %q
title = "End to end"
[http]
listen = "127.0.0.1:0"
protocol = "http"
[storage]
data_dir = %q
`, domain, filepath.Join(dir, "data"))), 0o600); err != nil {
		t.Fatal(err)
	}

	// Commands other than create refuse a data folder with no database.
	r := runCLI(t, "", "admin", "account", "list", "--config", cfg)
	if r.code == 0 || !strings.Contains(r.stderr, "no database at") {
		t.Fatalf("list before any database exists: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "rhizome.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("list created a database: %v", err)
	}

	// Without a server: the CLI opens the data itself.
	r = runCLI(t, "", "admin", "account", "create", "--username", "alice", "--email", "alice@example.org", "--password", "correct horse", "--admin", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "created admin account alice") {
		t.Fatalf("create alice: %+v", r)
	}
	failures := []struct {
		name string
		args []string
		want string
	}{
		{"taken username", []string{"create", "--username", "alice", "--email", "other@example.org", "--password", "correct horse"}, "username is already taken"},
		{"invalid name", []string{"create", "--username", "al ice", "--email", "other@example.org", "--password", "correct horse"}, "username must be"},
		{"invalid email", []string{"create", "--username", "carol", "--email", "not-an-email", "--password", "correct horse"}, "email is not a valid address"},
		{"weak password", []string{"create", "--username", "carol", "--email", "carol@example.org", "--password", "123"}, "password is too short"},
		{"unknown user", []string{"promote", "--username", "nobody"}, `local account "nobody" not found`},
		{"missing flag", []string{"promote"}, `"username"`},
	}
	for _, f := range failures {
		t.Run("offline/"+f.name, func(t *testing.T) {
			r := runCLI(t, "", append(append([]string{"admin", "account"}, f.args...), "--config", cfg)...)
			last := lastLine(r.stderr)
			if r.code == 0 || !strings.HasPrefix(last, "rhizome: ") || !strings.Contains(last, f.want) {
				t.Fatalf("exit %d, last stderr line %q; want non-zero and %q", r.code, last, f.want)
			}
		})
	}

	// Start the server.
	serve := exec.Command(rhizomeBinary(t), "serve", "--config", cfg)
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill() })
	logs := make(chan string, 1024)
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			logs <- s.Text()
		}
		close(logs)
	}()
	addr := strings.TrimPrefix(logField(waitForLog(t, logs, "msg=serving"), "addr"), "addr=")
	if addr == "" {
		t.Fatal("server logged no listening address")
	}

	// With the server running, the CLI reaches it over the admin socket.
	r = runCLI(t, "battery staple\n", "admin", "account", "create", "--username", "bob", "--email", "bob@example.org", "--password", "-", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "created account bob") {
		t.Fatalf("create bob while serving: %+v", r)
	}
	for _, f := range failures {
		t.Run("online/"+f.name, func(t *testing.T) {
			r := runCLI(t, "", append(append([]string{"admin", "account"}, f.args...), "--config", cfg)...)
			last := lastLine(r.stderr)
			if r.code == 0 || !strings.Contains(last, f.want) {
				t.Fatalf("exit %d, last stderr line %q; want non-zero and %q", r.code, last, f.want)
			}
		})
	}
	for _, args := range [][]string{{"promote", "--username", "bob"}, {"suspend", "--username", "bob"}, {"unsuspend", "--username", "bob"}, {"password", "--username", "bob", "--password", "another good one"}} {
		if r := runCLI(t, "", append(append([]string{"admin", "account"}, args...), "--config", cfg)...); r.code != 0 {
			t.Fatalf("%v while serving: %+v", args, r)
		}
	}
	r = runCLI(t, "", "admin", "account", "list", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "alice") || !lineHasWords(r.stdout, "bob", "admin", "active") {
		t.Fatalf("list while serving: %+v", r)
	}
	if r := runCLI(t, "", "admin", "report", "list", "--config", cfg); r.code != 0 || r.stdout != "no reports\n" {
		t.Fatalf("report list while serving: %+v", r)
	}
	if r := runCLI(t, "", "media", "prune", "--older-than", "30d", "--config", cfg); r.code != 0 || r.stdout != "pruned 0 cached remote files older than 30d\n" {
		t.Fatalf("media prune while serving: %+v", r)
	}

	// A second server on the same data fails with a clear reason.
	r = runCLI(t, "", "serve", "--config", cfg)
	if r.code == 0 || !strings.Contains(r.stderr, "in use by another process") {
		t.Fatalf("second serve: %+v", r)
	}

	// Resolve bob through WebFinger and fetch his actor, as a peer would.
	base := "http://" + addr
	var jrd struct {
		Subject string
		Links   []struct{ Rel, Type, Href string }
	}
	getJSON(t, base+"/.well-known/webfinger?resource=acct:bob@"+domain, "", &jrd)
	if jrd.Subject != "acct:bob@"+domain {
		t.Fatalf("subject %q", jrd.Subject)
	}
	self := ""
	for _, l := range jrd.Links {
		if l.Rel == "self" && l.Type == "application/activity+json" {
			self = l.Href
		}
	}
	if self != "http://"+domain+"/users/bob" {
		t.Fatalf("self link %q", self)
	}
	var actor map[string]any
	getJSON(t, strings.Replace(self, "http://"+domain, base, 1), "application/activity+json", &actor)
	if actor["id"] != self || actor["type"] != "Person" || actor["preferredUsername"] != "bob" || actor["inbox"] != self+"/inbox" {
		t.Fatalf("actor: %v", actor)
	}
	var nodeinfo struct {
		Usage struct{ Users struct{ Total int } }
	}
	getJSON(t, base+"/nodeinfo/2.1", "", &nodeinfo)
	if nodeinfo.Usage.Users.Total != 2 {
		t.Fatalf("nodeinfo users %d, want 2", nodeinfo.Usage.Users.Total)
	}

	// SIGTERM stops it cleanly.
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, logs, "msg=stopped")
	for range logs { // drain so Wait can finish reading stderr
	}
	if err := serve.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v (want exit 0)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "admin.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("admin socket left behind: %v", err)
	}

	// Stopped: the CLI opens the data directly and sees everything.
	r = runCLI(t, "", "admin", "account", "list", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "alice") || !strings.Contains(r.stdout, "bob") {
		t.Fatalf("list after stop: %+v", r)
	}
	checkMediaPrune(t, cfg, filepath.Join(dir, "data"))
}

// checkMediaPrune fills the cache of remote files with 250 old copies and
// one fresh one, then prunes those older than 30 days: the CLI shows its
// progress and the total, and only the fresh copy is left.
func checkMediaPrune(t *testing.T, cfg, dataDir string) {
	store, err := storage.Open(filepath.Join(dataDir, "rhizome.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-31 * 24 * time.Hour)
	if err := store.Update(t.Context(), func(tx *storage.Tx) error {
		for i := range 251 {
			b, err := store.Blobs().Put(strings.NewReader(fmt.Sprint("cached file ", i)), 0)
			if err != nil {
				return err
			}
			fetched := old
			if i == 250 {
				fetched = time.Now()
			}
			if err := tx.PutRemoteFile(fmt.Sprintf("https://remote.example/files/%03d.png", i),
				&storage.RemoteFile{Hash: b.Hash, MIME: "image/png", Size: b.Size, FetchedAt: fetched}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	if r := runCLI(t, "", "media", "prune", "--older-than", "soon", "--config", cfg); r.code == 0 || !strings.Contains(r.stderr, "--older-than") {
		t.Fatalf("prune with a bad age: %+v", r)
	}
	r := runCLI(t, "", "media", "prune", "--older-than", "30d", "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "pruned 200 cached files so far\n") ||
		!strings.HasSuffix(r.stdout, "pruned 250 cached remote files older than 30d\n") {
		t.Fatalf("media prune: %+v", r)
	}
	store, err = storage.Open(filepath.Join(dataDir, "rhizome.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.View(func(tx *storage.Tx) error {
		left, err := tx.RemoteFilesBefore(time.Now().Add(time.Hour), "", 1000)
		if err != nil {
			return err
		}
		if len(left) != 1 || left[0] != "https://remote.example/files/250.png" {
			t.Errorf("left after prune: %v", left)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	files := 0
	if err := store.Blobs().Walk(func(blobs.Blob, time.Time) error { files++; return nil }); err != nil {
		t.Fatal(err)
	}
	if files != 1 {
		t.Errorf("%d files on disk after the prune, want the fresh one only", files)
	}
}

func TestCLI_versionAndConfigCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short mode")
	}
	if r := runCLI(t, "", "version"); r.code != 0 || r.stdout != "rhizome v0.0.0-e2e\n" {
		t.Fatalf("version: %+v", r)
	}
	good := writeConfig(t, "[instance]\ndomain = \"a.test\"\n")
	if r := runCLI(t, "", "config", "check", "--config", good); r.code != 0 || !strings.Contains(r.stdout, "ok") {
		t.Fatalf("config check (good): %+v", r)
	}
	bad := writeConfig(t, "[instance]\ndomain = \"a.test\"\n[http]\nlisen = \"x\"\n")
	r := runCLI(t, "", "config", "check", "--config", bad)
	if r.code == 0 || lastLine(r.stderr) != "rhizome: "+bad+`:4: unknown key "http.lisen"` {
		t.Fatalf("config check (bad): %+v", r)
	}
	if r := runCLI(t, "", "serve", "--config", bad); r.code == 0 || !strings.Contains(r.stderr, "http.lisen") {
		t.Fatalf("serve with a bad config started: %+v", r)
	}
	if r := runCLI(t, "", "frobnicate"); r.code == 0 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %+v", r)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func lineHasWords(out string, words ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		match := true
		for _, w := range words {
			found := false
			for _, f := range fields {
				if f == w {
					found = true
				}
			}
			match = match && found
		}
		if match {
			return true
		}
	}
	return false
}

// logField returns the key=value field of a text log line.
func logField(line, key string) string {
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, key+"=") {
			return f
		}
	}
	return ""
}

// waitForLog reads log lines until one contains want, and returns it.
func waitForLog(t *testing.T, logs <-chan string, want string) string {
	t.Helper()
	guard := time.After(60 * time.Second) // hang guard only
	var seen []string
	for {
		select {
		case line, ok := <-logs:
			if !ok {
				t.Fatalf("server exited before logging %q:\n%s", want, strings.Join(seen, "\n"))
			}
			seen = append(seen, line)
			if strings.Contains(line, want) {
				return line
			}
		case <-guard:
			t.Fatalf("no %q in the server log:\n%s", want, strings.Join(seen, "\n"))
		}
	}
}

func getJSON(t *testing.T, url, accept string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
