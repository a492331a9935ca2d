package web

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
)

// network maps test host names (a.test, b.test …) to loopback listeners,
// so whole instances reach each other over real TCP by name.
type network struct {
	mu    sync.Mutex
	addrs map[string]string
}

func (n *network) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if net.ParseIP(host) != nil {
		// An address, not a test host: a service the test started itself
		// (a push service, say).
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	n.mu.Lock()
	target, ok := n.addrs[host]
	n.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("test network: no host %s", host)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, target)
}

// node is one whole instance serving on the test network.
type node struct {
	t      testing.TB
	name   string
	dir    string
	net    *network
	srv    *Server
	cancel context.CancelFunc
	done   chan error
}

func newNetwork() *network { return &network{addrs: map[string]string{}} }

// start runs an instance named name (its data in dir) until stop.
func (n *network) start(t testing.TB, name, dir string, configure ...func(*Options)) *node {
	t.Helper()
	logs := newSignalHandler()
	opts := Options{
		Domain: name, Protocol: "http", DataDir: dir, Logger: slog.New(logs),
		AllowPrivateAddresses: true, Dial: n.dial, DeliveryRetryBase: 20 * time.Millisecond,
	}
	for _, c := range configure {
		c(&opts)
	}
	srv, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	n.addrs[name] = ln.Addr().String()
	n.mu.Unlock()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	nd := &node{t: t, name: name, dir: dir, net: n, srv: srv, cancel: cancel, done: make(chan error, 1)}
	serving := logs.on("serving")
	go func() { nd.done <- srv.Serve(ctx, ln, nil) }()
	<-serving
	t.Cleanup(nd.stop)
	return nd
}

// stop shuts the instance down; its name stops resolving.
func (nd *node) stop() {
	if nd.srv == nil {
		return
	}
	nd.net.mu.Lock()
	delete(nd.net.addrs, nd.name)
	nd.net.mu.Unlock()
	nd.cancel()
	if err := <-nd.done; err != nil {
		nd.t.Errorf("%s: Serve: %v", nd.name, err)
	}
	if err := nd.srv.Store().Check(); err != nil {
		nd.t.Errorf("%s: consistency check: %v", nd.name, err)
	}
	nd.srv.Close()
	nd.srv = nil
}

func (nd *node) in() *activitypub.Instance { return nd.srv.Instance() }

func (nd *node) account(username string, locked bool) *storage.Account {
	nd.t.Helper()
	la, err := nd.in().CreateAccount(nd.t.Context(), activitypub.NewAccount{
		Username: username, Email: username + "@" + nd.name, Password: "correct horse battery",
	})
	if err != nil {
		nd.t.Fatal(err)
	}
	if locked {
		la.Account.Locked = true
		if err := nd.srv.Store().Update(nd.t.Context(), func(tx *storage.Tx) error { return tx.PutAccount(la.Account) }); err != nil {
			nd.t.Fatal(err)
		}
	}
	return la.Account
}

// resolve looks acct up from this instance, as a user searching for it.
func (nd *node) resolve(acct string) *storage.Account {
	nd.t.Helper()
	a, err := nd.in().ResolveAccount(nd.t.Context(), acct)
	if err != nil {
		nd.t.Fatalf("%s resolving %s: %v", nd.name, acct, err)
	}
	return a
}

// follow returns the follow of followedURI by followerURI as this
// instance stores it, or nil.
func (nd *node) follow(followerURI, followedURI string) *storage.Follow {
	var f *storage.Follow
	_ = nd.srv.Store().View(func(tx *storage.Tx) error {
		follower, err := tx.AccountByURI(followerURI)
		if err != nil {
			return err
		}
		followed, err := tx.AccountByURI(followedURI)
		if err != nil {
			return err
		}
		f, _ = tx.Follow(follower.ID, followed.ID)
		return nil
	})
	return f
}

func (nd *node) accountByURI(uri string) *storage.Account {
	var a *storage.Account
	_ = nd.srv.Store().View(func(tx *storage.Tx) error {
		a, _ = tx.AccountByURI(uri)
		return nil
	})
	return a
}

// eventually waits until cond holds. The deadline only guards against a
// hang; it asserts nothing about speed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		<-tick.C
	}
}

func accepted(f *storage.Follow) bool { return f != nil && !f.Pending }

// TestFederation_follows runs three instances that follow each other:
// auto-accepted follows, a locked account's request accepted and another
// rejected, and an unfollow, checked in the stored state of every side.
func TestFederation_follows(t *testing.T) {
	n := newNetwork()
	a := n.start(t, "a.test", t.TempDir())
	b := n.start(t, "b.test", t.TempDir())
	c := n.start(t, "c.test", t.TempDir())
	alice := a.account("alice", false)
	bob := b.account("bob", false)
	carol := c.account("carol", true)
	erin := c.account("erin", true)
	ctx := t.Context()

	// alice follows bob (open account): b accepts at once.
	bobOnA := a.resolve("bob@b.test")
	if _, err := a.in().Follow(ctx, alice, bobOnA); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a to see bob's Accept", func() bool { return accepted(a.follow(alice.URI, bob.URI)) })
	if f := b.follow(alice.URI, bob.URI); !accepted(f) {
		t.Fatalf("b's record of the follow: %+v", f)
	}
	if got := b.accountByURI(bob.URI).FollowersCount; got != 1 {
		t.Fatalf("bob's followers on b: %d", got)
	}
	if got := a.accountByURI(alice.URI).FollowingCount; got != 1 {
		t.Fatalf("alice's following on a: %d", got)
	}
	// The Follow's id resolves on a, as peers may check.
	followURI := a.follow(alice.URI, bob.URI).URI
	if resp, body := getVia(t, n, followURI, "application/activity+json"); resp.StatusCode != http.StatusOK ||
		!strings.Contains(string(body), `"type":"Follow"`) {
		t.Fatalf("GET %s: %d %s", followURI, resp.StatusCode, body)
	}

	// alice follows carol (locked): a request until carol accepts.
	carolOnA := a.resolve("carol@c.test")
	if _, err := a.in().Follow(ctx, alice, carolOnA); err != nil {
		t.Fatal(err)
	}
	eventually(t, "c to hold alice's request", func() bool { return c.follow(alice.URI, carol.URI) != nil })
	if f := c.follow(alice.URI, carol.URI); !f.Pending {
		t.Fatalf("follow of a locked account accepted without asking: %+v", f)
	}
	if f := a.follow(alice.URI, carol.URI); !f.Pending {
		t.Fatalf("a thinks the request was accepted: %+v", f)
	}
	aliceOnC := c.accountByURI(alice.URI)
	if err := c.in().AcceptFollowRequest(ctx, carol, aliceOnC); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a to see carol's Accept", func() bool { return accepted(a.follow(alice.URI, carol.URI)) })

	// alice follows erin (locked), who rejects: gone on both sides.
	if _, err := a.in().Follow(ctx, alice, a.resolve("erin@c.test")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "c to hold alice's request to erin", func() bool { return c.follow(alice.URI, erin.URI) != nil })
	if err := c.in().RejectFollowRequest(ctx, erin, aliceOnC); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a to drop the rejected request", func() bool { return a.follow(alice.URI, erin.URI) == nil })
	if c.follow(alice.URI, erin.URI) != nil {
		t.Fatal("c kept the rejected request")
	}

	// bob follows alice back, then alice unfollows bob.
	if _, err := b.in().Follow(ctx, bob, b.resolve("alice@a.test")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b to see alice's Accept", func() bool { return accepted(b.follow(bob.URI, alice.URI)) })
	if err := a.in().Unfollow(ctx, alice, bobOnA); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b to drop the follow", func() bool { return b.follow(alice.URI, bob.URI) == nil })
	if got := b.accountByURI(bob.URI).FollowersCount; got != 0 {
		t.Fatalf("bob's followers after the unfollow: %d", got)
	}
	if !accepted(a.follow(bob.URI, alice.URI)) {
		t.Fatal("bob's follow of alice was lost")
	}
}

// TestFederation_peerDownThenBack queues a follow while the peer is down:
// the delivery waits, survives a restart of the sender, and arrives when
// the peer is back.
func TestFederation_peerDownThenBack(t *testing.T) {
	n := newNetwork()
	aDir, bDir := t.TempDir(), t.TempDir()
	a := n.start(t, "a.test", aDir)
	b := n.start(t, "b.test", bDir)
	alice := a.account("alice", false)
	bob := b.account("bob", false)
	bobOnA := a.resolve("bob@b.test")
	b.stop()

	if _, err := a.in().Follow(t.Context(), alice, bobOnA); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a first failed attempt", func() bool { return pendingDeliveryAttempts(a) > 0 })
	a.stop()
	a = n.start(t, "a.test", aDir) // the sender restarts with the delivery pending
	if pendingDeliveries(a) == 0 {
		t.Fatal("pending delivery lost in the restart")
	}
	b = n.start(t, "b.test", bDir)
	eventually(t, "the follow to arrive after b is back", func() bool { return accepted(b.follow(alice.URI, bob.URI)) })
	eventually(t, "the Accept to come back", func() bool { return accepted(a.follow(alice.URI, bob.URI)) })
	eventually(t, "a's queue to drain", func() bool { return pendingDeliveries(a) == 0 })
}

func pendingDeliveries(nd *node) int {
	n := 0
	_ = nd.srv.Store().View(func(tx *storage.Tx) error {
		var err error
		n, err = tx.PendingDeliveries()
		return err
	})
	return n
}

// pendingDeliveryAttempts is the largest attempt count in the queue.
func pendingDeliveryAttempts(nd *node) int {
	most := 0
	_ = nd.srv.Store().View(func(tx *storage.Tx) error {
		due, _, err := tx.DueDeliveries(time.Now().Add(24*time.Hour), 100)
		for _, d := range due {
			most = max(most, d.Attempt)
		}
		return err
	})
	return most
}

// TestInbox_refusesBadRequests posts to b's inbox requests that must be
// refused with 401, 403 or 400, and checks that nothing was stored.
func TestInbox_refusesBadRequests(t *testing.T) {
	n := newNetwork()
	a := n.start(t, "a.test", t.TempDir())
	b := n.start(t, "b.test", t.TempDir())
	alice := a.account("alice", false)
	bob := b.account("bob", false)
	aliceKey := privateKeyOf(t, a, alice)
	mallory, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	follow := func(actor string) []byte {
		return []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"http://a.test/activities/f%d","type":"Follow","actor":%q,"object":%q}`,
			time.Now().UnixNano(), actor, bob.URI))
	}
	client := &http.Client{Transport: &http.Transport{DialContext: n.dial}}
	tests := []struct {
		name   string
		body   []byte
		sign   func(r *http.Request, body []byte)
		status int
	}{
		{"unsigned", follow(alice.URI), func(*http.Request, []byte) {}, 401},
		{"forged signature", follow(alice.URI), func(r *http.Request, body []byte) {
			signOrFail(t, r, body, alice.PublicKeyID, mallory, time.Now())
		}, 401},
		{"digest does not match", follow(alice.URI), func(r *http.Request, body []byte) {
			signOrFail(t, r, body, alice.PublicKeyID, aliceKey, time.Now())
			r.Body = io.NopCloser(bytes.NewReader(follow(alice.URI)))
		}, 401},
		{"stale date", follow(alice.URI), func(r *http.Request, body []byte) {
			signOrFail(t, r, body, alice.PublicKeyID, aliceKey, time.Now().Add(-3*time.Hour))
		}, 401},
		{"actor is not the key owner", follow("http://a.test/users/someone-else"), func(r *http.Request, body []byte) {
			signOrFail(t, r, body, alice.PublicKeyID, aliceKey, time.Now())
		}, 401},
		{"activity id on another host", []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"http://c.test/f/1","type":"Follow","actor":%q,"object":%q}`, alice.URI, bob.URI)),
			func(r *http.Request, body []byte) {
				signOrFail(t, r, body, alice.PublicKeyID, aliceKey, time.Now())
			}, 403},
		{"far-future date", follow(alice.URI), func(r *http.Request, body []byte) {
			signOrFail(t, r, body, alice.PublicKeyID, aliceKey, time.Now().Add(3*time.Hour))
		}, 401},
		{"host not signed", follow(alice.URI), func(r *http.Request, body []byte) {
			signOrFail(t, r, body, alice.PublicKeyID, aliceKey, time.Now())
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), " host", "", 1))
		}, 401},
		{"object claims another host", []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"http://a.test/c/1","type":"Create","actor":%q,`+
			`"object":{"id":"http://c.test/notes/1","type":"Note","attributedTo":%q,"content":"forged","to":["https://www.w3.org/ns/activitystreams#Public"]}}`, alice.URI, alice.URI)),
			func(r *http.Request, body []byte) {
				signOrFail(t, r, body, alice.PublicKeyID, aliceKey, time.Now())
			}, 400},
		{"not JSON", []byte(`{"type":`), func(r *http.Request, body []byte) {
			signOrFail(t, r, body, alice.PublicKeyID, aliceKey, time.Now())
		}, 400},
		{"follow of nobody", []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"http://a.test/f/2","type":"Follow","actor":%q,"object":"http://b.test/users/nobody"}`, alice.URI)),
			func(r *http.Request, body []byte) {
				signOrFail(t, r, body, alice.PublicKeyID, aliceKey, time.Now())
			}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/inbox", "/users/bob/inbox"} {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://b.test"+path, bytes.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/activity+json")
				tt.sign(req, tt.body)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Fatalf("%s: status %d, want %d: %s", path, resp.StatusCode, tt.status, msg)
				}
			}
		})
	}
	if f := b.follow(alice.URI, bob.URI); f != nil {
		t.Fatalf("a refused request stored a follow: %+v", f)
	}
	if b.statusByURI("http://c.test/notes/1") != nil {
		t.Fatal("a note claimed from another host was stored")
	}
	if got := b.accountByURI(bob.URI).FollowersCount; got != 0 {
		t.Fatalf("bob has %d followers", got)
	}
	// The same follow, properly signed, is accepted.
	body := follow(alice.URI)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://b.test/inbox", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/activity+json")
	signOrFail(t, req, body, alice.PublicKeyID, aliceKey, time.Now())
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !accepted(b.follow(alice.URI, bob.URI)) {
		t.Fatalf("valid follow: status %d, follow %+v", resp.StatusCode, b.follow(alice.URI, bob.URI))
	}
}

func signOrFail(t testing.TB, r *http.Request, body []byte, keyID string, key crypto.PrivateKey, now time.Time) {
	t.Helper()
	if err := activitypub.SignRequest(r, body, keyID, key, now); err != nil {
		t.Fatal(err)
	}
}

func privateKeyOf(t testing.TB, nd *node, a *storage.Account) crypto.PrivateKey {
	t.Helper()
	var pemKey string
	if err := nd.srv.Store().View(func(tx *storage.Tx) error {
		var err error
		pemKey, err = tx.PrivateKey(a.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	key, err := activitypub.ParsePrivateKeyPEM(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// TestFederation_deadHostDoesNotDelayLiveOne: a follower's host that
// accepts connections and never answers holds its own deliveries, not
// those to other hosts.
func TestFederation_deadHostDoesNotDelayLiveOne(t *testing.T) {
	n := newNetwork()
	a := n.start(t, "a.test", t.TempDir())
	b := n.start(t, "b.test", t.TempDir())
	alice := a.account("alice", false)
	bob := b.account("bob", false)
	b.followAndWait(bob, "alice@a.test", alice.URI)

	// d.test accepts connections and never answers.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	n.mu.Lock()
	n.addrs["d.test"] = hang.Addr().String()
	n.mu.Unlock()
	// Several followers on d.test, each with its own inbox, so the dead
	// host has more deliveries than the per-host limit.
	if err := a.srv.Store().Update(t.Context(), func(tx *storage.Tx) error {
		for i := range 5 {
			id := a.srv.Store().NewID()
			uri := fmt.Sprintf("http://d.test/users/d%d", i)
			if err := tx.CreateAccount(&storage.Account{ID: id, URI: uri, Username: fmt.Sprintf("d%d", i), Domain: "d.test",
				ActorType: "Person", InboxURI: uri + "/inbox", CreatedAt: time.Now(), FetchedAt: time.Now()}); err != nil {
				return err
			}
			if err := tx.PutFollow(&storage.Follow{FollowerID: id, FollowedID: alice.ID, URI: uri + "#follow", CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	post := a.post(alice, activitypub.Draft{Text: "are you there?"})
	eventually(t, "b to receive the post while d.test hangs", func() bool { return b.statusByURI(post.URI) != nil })
	if pendingDeliveries(a) < 5 {
		t.Fatalf("%d deliveries pending; the 5 to d.test cannot have succeeded", pendingDeliveries(a))
	}
}

// TestFederation_authorizedFetch: with authorized fetch on, unsigned GETs
// of actors and collections are refused, the instance actor and WebFinger
// stay open, and a peer's signed fetches and deliveries still work.
func TestFederation_authorizedFetch(t *testing.T) {
	n := newNetwork()
	a := n.start(t, "a.test", t.TempDir(), func(o *Options) { o.AuthorizedFetch = true })
	b := n.start(t, "b.test", t.TempDir())
	alice := a.account("alice", false)
	bob := b.account("bob", false)
	for _, tt := range []struct {
		url    string
		status int
	}{
		{"http://a.test/users/alice/outbox", http.StatusUnauthorized},
		{"http://a.test/users/alice/followers?page=true", http.StatusUnauthorized},
		{"http://a.test/actor", http.StatusOK},
		{"http://a.test/.well-known/webfinger?resource=acct:alice@a.test", http.StatusOK},
	} {
		if resp, body := getVia(t, n, tt.url, "application/activity+json"); resp.StatusCode != tt.status {
			t.Errorf("unsigned GET %s: %d, want %d: %s", tt.url, resp.StatusCode, tt.status, body)
		}
	}
	// An unsigned fetch of an actor gets only what proves its key.
	resp, body := getVia(t, n, "http://a.test/users/alice", "application/activity+json")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"publicKeyPem"`) ||
		strings.Contains(string(body), `"summary"`) || strings.Contains(string(body), `"followers"`) {
		t.Fatalf("unsigned actor fetch: %d %s", resp.StatusCode, body)
	}
	// A forged signature gets nothing.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://a.test/users/alice", nil)
	req.Header.Set("Accept", "application/activity+json")
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("Signature", `keyId="http://b.test/actor#main-key",algorithm="rsa-sha256",headers="(request-target) host date",signature="Zm9yZ2Vk"`)
	if resp, err := (&http.Client{Transport: &http.Transport{DialContext: n.dial}}).Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged signature: %d, want 401", resp.StatusCode)
	}
	// b signs its fetches with its instance actor, which a can verify.
	if got := b.resolve("alice@a.test"); got.URI != alice.URI {
		t.Fatalf("resolved %s", got.URI)
	}
	b.followAndWait(bob, "alice@a.test", alice.URI)
	post := a.post(alice, activitypub.Draft{Text: "signed fetches only"})
	eventually(t, "b to receive the post", func() bool { return b.statusByURI(post.URI) != nil })
}
