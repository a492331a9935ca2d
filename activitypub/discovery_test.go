package activitypub

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLookupResource(t *testing.T) {
	in := newTestInstance(t)
	if _, err := in.CreateAccount(t.Context(), NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	const alice, instance = "https://a.test/users/alice", "https://a.test/actor"
	tests := []struct {
		resource string
		want     string // actor URI, or "bad" / "missing"
	}{
		{"acct:alice@a.test", alice},
		{"acct:Alice@A.TEST", alice},
		{"alice@a.test", alice},
		{"acct:@alice@a.test", alice},
		{"https://a.test/users/alice", alice},
		{"https://a.test/@alice", alice},
		{"https://A.test/users/alice", alice},
		{"acct:a.test@a.test", instance},
		{"https://a.test/actor", instance},
		{"acct:bob@a.test", "missing"},
		{"acct:alice@b.test", "missing"},
		{"https://b.test/users/alice", "missing"},
		{"https://a.test/users/alice/outbox", "missing"},
		{"https://a.test/", "missing"},
		{"", "bad"},
		{"acct:", "bad"},
		{"acct:alice", "bad"},
		{"acct:@a.test", "bad"},
		{"acct:alice@", "bad"},
		{"acct:alice@a.test@b.test", "bad"},
		{"mailto:alice@a.test", "bad"},
		{"https://", "bad"},
		{"https://%zz", "bad"},
		{"acct:" + strings.Repeat("a", 2000) + "@a.test", "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			a, err := in.LookupResource(tt.resource)
			var bad *BadRequestError
			var missing *NotFoundError
			switch tt.want {
			case "bad":
				if !errors.As(err, &bad) {
					t.Fatalf("got %v, want BadRequestError", err)
				}
			case "missing":
				if !errors.As(err, &missing) {
					t.Fatalf("got %v, want NotFoundError", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if a.URI != tt.want {
					t.Fatalf("found %s, want %s", a.URI, tt.want)
				}
			}
		})
	}
}

func FuzzLookupResource(f *testing.F) {
	in := newTestInstance(f)
	for _, seed := range []string{"acct:alice@a.test", "https://a.test/@alice", "alice@a.test", "acct:a.test@a.test", "x:y@z"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, resource string) {
		a, err := in.LookupResource(resource)
		var bad *BadRequestError
		var missing *NotFoundError
		switch {
		case err == nil:
			if a == nil || !a.Local() {
				t.Fatalf("%q resolved to %+v", resource, a)
			}
		case errors.As(err, &bad), errors.As(err, &missing):
		default:
			t.Fatalf("%q: unexpected error class %v", resource, err)
		}
	})
}

func TestUsage(t *testing.T) {
	clock := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	in, err := New(t.Context(), newTestStore(t), Options{Domain: "a.test", Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		if _, err := in.CreateAccount(ctx, NewAccount{Username: name, Email: name + "@example.org", Password: "correct horse"}); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(name string) {
		t.Helper()
		if _, err := in.Authenticate(ctx, name+"@example.org", "correct horse"); err != nil {
			t.Fatal(err)
		}
	}
	signIn("alice")
	signIn("carol")
	clock = clock.AddDate(0, 0, -40) // dave signed in 40 days before now
	signIn("dave")
	clock = clock.AddDate(0, 0, 40)
	if err := in.SetSuspended(ctx, "carol", true); err != nil {
		t.Fatal(err)
	}
	u, err := in.Usage()
	if err != nil {
		t.Fatal(err)
	}
	want := Usage{Users: 4, ActiveMonth: 1, ActiveHalfyear: 2}
	if u != want {
		t.Fatalf("usage = %+v, want %+v: 4 users (the instance actor is not one); alice active this month, "+
			"dave this half-year; bob never signed in; carol is suspended", u, want)
	}
	// Active counts are reused for an hour, then recomputed.
	signIn("bob")
	if u, _ := in.Usage(); u.ActiveMonth != 1 {
		t.Fatalf("active counts recomputed within the hour: %+v", u)
	}
	clock = clock.Add(time.Hour)
	if u, _ := in.Usage(); u.ActiveMonth != 2 {
		t.Fatalf("active counts not recomputed after an hour: %+v", u)
	}
}
