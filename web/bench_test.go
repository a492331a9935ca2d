package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rhizome-fed/rhizome/activitypub"
)

// BenchmarkHandler measures the read paths peers hit most, through the
// whole handler stack (middleware, router, storage read, rendering),
// without the network.
func BenchmarkHandler(b *testing.B) {
	srv, err := New(b.Context(), Options{Domain: "a.test", DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.Instance().CreateAccount(b.Context(), activitypub.NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse"}); err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	cases := []struct{ name, path, accept string }{
		{"actor", "/users/alice", "application/activity+json"},
		{"webfinger", "/.well-known/webfinger?resource=acct:alice@a.test", ""},
		{"nodeinfo", "/nodeinfo/2.1", ""},
		{"profile-page", "/@alice", "text/html"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodGet, c.path, nil)
					if c.accept != "" {
						req.Header.Set("Accept", c.accept)
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Errorf("status %d", rec.Code)
						return
					}
				}
			})
		})
	}
}
