package activitypub

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakePeer is a remote server on a real loopback listener that serves
// fixed documents, and records the requests it gets.
type fakePeer struct {
	host string // the name instances use for it, e.g. "b.test"
	srv  *httptest.Server
	mu   sync.Mutex
	docs map[string]fakeDoc // path (with query) → document
	seen []*http.Request
}

type fakeDoc struct {
	status      int
	contentType string
	body        string
}

func newFakePeer(t *testing.T, host string) *fakePeer {
	t.Helper()
	p := &fakePeer{host: host, docs: map[string]fakeDoc{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Clone(context.Background()))
		d, ok := p.docs[r.URL.RequestURI()]
		p.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if d.status == 0 {
			d.status = http.StatusOK
		}
		w.Header().Set("Content-Type", d.contentType)
		w.WriteHeader(d.status)
		fmt.Fprint(w, d.body)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakePeer) serve(path, contentType, body string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.docs[path] = fakeDoc{contentType: contentType, body: body}
}

func (p *fakePeer) serveStatus(path string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.docs[path] = fakeDoc{status: status, contentType: "text/plain", body: http.StatusText(status)}
}

func (p *fakePeer) requests() []*http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*http.Request(nil), p.seen...)
}

// dialer maps the peers' host names to their listeners.
func dialer(peers ...*fakePeer) DialFunc {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		for _, p := range peers {
			if host == p.host {
				return d.DialContext(ctx, network, p.srv.Listener.Addr().String())
			}
		}
		return nil, fmt.Errorf("no test host %s", host)
	}
}

// newFederatingInstance is an instance on http://a.test that reaches the
// given peers over loopback.
func newFederatingInstance(t *testing.T, peers ...*fakePeer) *Instance {
	t.Helper()
	in, err := New(t.Context(), newTestStore(t), Options{
		Domain: "a.test", Protocol: "http", AllowPrivateAddresses: true, Dial: dialer(peers...),
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// mastodonActor returns a Mastodon-shaped actor document for
// http://host/users/name with the given public key PEM.
func mastodonActor(host, name, publicPEM string) string {
	id := "http://" + host + "/users/" + name
	doc := map[string]any{
		"@context":                  []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":                        id,
		"type":                      "Person",
		"following":                 id + "/following",
		"followers":                 id + "/followers",
		"inbox":                     id + "/inbox",
		"outbox":                    id + "/outbox",
		"featured":                  id + "/collections/featured",
		"preferredUsername":         name,
		"name":                      strings.ToUpper(name[:1]) + name[1:],
		"summary":                   `<p>Hi<script>alert(1)</script></p>`,
		"url":                       "http://" + host + "/@" + name,
		"manuallyApprovesFollowers": false,
		"discoverable":              true,
		"published":                 "2023-01-02T00:00:00Z",
		"publicKey":                 map[string]any{"id": id + "#main-key", "owner": id, "publicKeyPem": publicPEM},
		"endpoints":                 map[string]any{"sharedInbox": "http://" + host + "/inbox"},
		"icon":                      map[string]any{"type": "Image", "mediaType": "image/png", "url": "http://" + host + "/avatar.png"},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}
