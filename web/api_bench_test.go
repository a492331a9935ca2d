package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
)

// BenchmarkHomeTimeline measures GET /api/v1/timelines/home?limit=40
// through the whole handler stack, for an account that follows 1,000
// accounts and has 100,000 statuses in its home timeline.
func BenchmarkHomeTimeline(b *testing.B) {
	srv, err := New(b.Context(), Options{Domain: "a.test", DataDir: b.TempDir(), APIRateLimit: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	la, err := srv.Instance().CreateAccount(b.Context(), activitypub.NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse"})
	if err != nil {
		b.Fatal(err)
	}
	alice := la.Account
	st := srv.Store()
	var authors []*storage.Account
	if err := st.Update(b.Context(), func(tx *storage.Tx) error {
		for i := range 1000 {
			host := fmt.Sprintf("h%d.test", i%100)
			uri := fmt.Sprintf("https://%s/users/u%d", host, i)
			a := &storage.Account{ID: st.NewID(), URI: uri, Username: fmt.Sprintf("u%d", i), Domain: host, ActorType: "Person",
				InboxURI: uri + "/inbox", CreatedAt: time.Now(), FetchedAt: time.Now()}
			if err := tx.CreateAccount(a); err != nil {
				return err
			}
			if err := tx.PutFollow(&storage.Follow{FollowerID: alice.ID, FollowedID: a.ID, URI: uri + "#f", CreatedAt: time.Now()}); err != nil {
				return err
			}
			authors = append(authors, a)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	start := time.Now().Add(-100000 * time.Second)
	for batch := 0; batch < 100000; batch += 5000 {
		if err := st.Update(b.Context(), func(tx *storage.Tx) error {
			for i := batch; i < batch+5000; i++ {
				a := authors[i%len(authors)]
				at := start.Add(time.Duration(i) * time.Second)
				s := &storage.Status{ID: storage.IDAt(at), URI: fmt.Sprintf("%s/statuses/%d", a.URI, i), AccountID: a.ID,
					Content: fmt.Sprintf("<p>status %d with some words in it</p>", i), Visibility: storage.VisibilityPublic,
					HomeOf: []storage.ID{alice.ID}, CreatedAt: at}
				if err := tx.CreateStatus(s); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	token := apiToken(b, srv, alice, "read")
	h := srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/timelines/home?limit=40", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), `[{"id":`) {
			b.Fatalf("status %d: %.200s", rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkPostStatus_api measures POST /api/v1/statuses for an account
// with 1,000 followers on 100 remote instances (shared inboxes), served
// by one loopback listener standing in for all of them: the time for the
// request to return, and (as deliveries-ms/op) until all 100 deliveries
// have been received.
func BenchmarkPostStatus_api(b *testing.B) {
	var received atomic.Int64
	peers := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer peers.Close()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, peers.Listener.Addr().String())
	}
	srv, err := New(b.Context(), Options{Domain: "a.test", Protocol: "http", DataDir: b.TempDir(),
		AllowPrivateAddresses: true, Dial: dial, APIRateLimit: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	defer func() { cancel(); <-done }()
	la, err := srv.Instance().CreateAccount(b.Context(), activitypub.NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse"})
	if err != nil {
		b.Fatal(err)
	}
	st := srv.Store()
	if err := st.Update(b.Context(), func(tx *storage.Tx) error {
		for i := range 1000 {
			host := fmt.Sprintf("h%d.test", i%100)
			uri := fmt.Sprintf("http://%s/users/u%d", host, i)
			a := &storage.Account{ID: st.NewID(), URI: uri, Username: fmt.Sprintf("u%d", i), Domain: host, ActorType: "Person",
				InboxURI: uri + "/inbox", SharedInboxURI: "http://" + host + "/inbox", CreatedAt: time.Now(), FetchedAt: time.Now()}
			if err := tx.CreateAccount(a); err != nil {
				return err
			}
			if err := tx.PutFollow(&storage.Follow{FollowerID: a.ID, FollowedID: la.Account.ID, URI: uri + "#f", CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	token := apiToken(b, srv, la.Account, "write")
	client := &http.Client{}
	url := "http://" + ln.Addr().String() + "/api/v1/statuses"
	var deliveryTime time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	n := int64(0)
	for b.Loop() {
		n++
		start := time.Now()
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"status":"hello followers"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		b.StopTimer()
		deadline := time.Now().Add(60 * time.Second) // hang guard only
		for received.Load() < n*100 {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d deliveries received", received.Load(), n*100)
			}
			time.Sleep(time.Millisecond)
		}
		deliveryTime += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(deliveryTime.Milliseconds())/float64(n), "deliveries-ms/op")
}
