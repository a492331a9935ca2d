package activitypub

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhizome-fed/rhizome/storage"
)

func newTestStore(t testing.TB) *storage.Store {
	t.Helper()
	s, err := storage.Open(filepath.Join(t.TempDir(), "rhizome.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("consistency check: %v", err)
		}
		s.Close()
	})
	return s
}

func newTestInstance(t testing.TB) *Instance {
	t.Helper()
	in, err := New(context.Background(), newTestStore(t), Options{Domain: "a.test"})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestNew_refusesChangedDomain(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	if _, err := New(ctx, s, Options{Domain: "a.test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, s, Options{Domain: "A.test"}); err != nil {
		t.Fatalf("same domain in other case: %v", err)
	}
	_, err := New(ctx, s, Options{Domain: "b.test"})
	if err == nil || !strings.Contains(err.Error(), `"a.test"`) || !strings.Contains(err.Error(), "instance.domain") {
		t.Fatalf("changed domain: got %v, want an error naming the key and the recorded domain", err)
	}
	_, err = New(ctx, s, Options{Domain: "a.test", Protocol: "http"})
	if err == nil || !strings.Contains(err.Error(), "http.protocol") {
		t.Fatalf("changed protocol: got %v, want an error naming http.protocol", err)
	}
}

func TestNew_instanceActorCreatedOnce(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	first, err := New(ctx, s, Options{Domain: "a.test"})
	if err != nil {
		t.Fatal(err)
	}
	a1, err := first.InstanceActor()
	if err != nil {
		t.Fatal(err)
	}
	second, err := New(ctx, s, Options{Domain: "a.test"})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := second.InstanceActor()
	if err != nil {
		t.Fatal(err)
	}
	if a1.ID != a2.ID || a1.PublicKeyPEM != a2.PublicKeyPEM {
		t.Fatal("instance actor or its key changed on the second start")
	}
	if a1.URI != "https://a.test/actor" || a1.ActorType != "Application" {
		t.Fatalf("instance actor %s of type %s", a1.URI, a1.ActorType)
	}
	if err := s.View(func(tx *storage.Tx) error { _, err := tx.PrivateKey(a1.ID); return err }); err != nil {
		t.Fatalf("instance actor private key: %v", err)
	}
}

func TestCreateAccount(t *testing.T) {
	in := newTestInstance(t)
	ctx := t.Context()
	la, err := in.CreateAccount(ctx, NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	a := la.Account
	want := map[string]string{
		"URI":            "https://a.test/users/alice",
		"InboxURI":       "https://a.test/users/alice/inbox",
		"OutboxURI":      "https://a.test/users/alice/outbox",
		"FollowersURI":   "https://a.test/users/alice/followers",
		"FollowingURI":   "https://a.test/users/alice/following",
		"FeaturedURI":    "https://a.test/users/alice/collections/featured",
		"SharedInboxURI": "https://a.test/inbox",
		"PublicKeyID":    "https://a.test/users/alice#main-key",
		"URL":            "https://a.test/@alice",
	}
	got := map[string]string{
		"URI": a.URI, "InboxURI": a.InboxURI, "OutboxURI": a.OutboxURI, "FollowersURI": a.FollowersURI,
		"FollowingURI": a.FollowingURI, "FeaturedURI": a.FeaturedURI, "SharedInboxURI": a.SharedInboxURI,
		"PublicKeyID": a.PublicKeyID, "URL": a.URL,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if !strings.HasPrefix(a.PublicKeyPEM, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("public key PEM: %q", a.PublicKeyPEM)
	}
	if !strings.HasPrefix(la.User.PasswordHash, "$argon2id$") || !la.User.Admin {
		t.Errorf("user: %+v", la.User)
	}

	tests := []struct {
		name  string
		n     NewAccount
		field string
	}{
		{"taken username", NewAccount{"alice", "other@example.org", "correct horse", false}, "username"},
		{"taken username other case", NewAccount{"ALICE", "other@example.org", "correct horse", false}, "username"},
		{"taken email", NewAccount{"bob", "alice@example.org", "correct horse", false}, "email"},
		{"username with dot", NewAccount{"bob.b", "bob@example.org", "correct horse", false}, "username"},
		{"username too long", NewAccount{strings.Repeat("b", 31), "bob@example.org", "correct horse", false}, "username"},
		{"empty username", NewAccount{"", "bob@example.org", "correct horse", false}, "username"},
		{"email without at", NewAccount{"bob", "bob.example.org", "correct horse", false}, "email"},
		{"email with name", NewAccount{"bob", "Bob <bob@example.org>", "correct horse", false}, "email"},
		{"short password", NewAccount{"bob", "bob@example.org", "short", false}, "password"},
		{"common password", NewAccount{"bob", "bob@example.org", "Password1", false}, "password"},
		{"password is username", NewAccount{"bobbybob", "bob@example.org", "BobbyBob", false}, "password"},
		{"repeated character", NewAccount{"bob", "bob@example.org", "aaaaaaaaaa", false}, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := in.CreateAccount(ctx, tt.n)
			var invalid *InvalidError
			if !errors.As(err, &invalid) || invalid.Field != tt.field {
				t.Fatalf("got %v, want an InvalidError on %s", err, tt.field)
			}
		})
	}
	all, err := in.LocalAccounts()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("%d local accounts after the failures, want 1", len(all))
	}
}

func TestAdminActions(t *testing.T) {
	in := newTestInstance(t)
	ctx := t.Context()
	if _, err := in.CreateAccount(ctx, NewAccount{Username: "alice", Email: "alice@example.org", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Authenticate(ctx, "alice@example.org", "correct horse"); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if err := in.SetPassword(ctx, "alice", "battery staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Authenticate(ctx, "alice@example.org", "correct horse"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("old password: got %v, want ErrForbidden", err)
	}
	if _, err := in.Authenticate(ctx, "ALICE@example.org", "battery staple"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, err := in.Authenticate(ctx, "nobody@example.org", "battery staple"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("unknown email: got %v, want ErrForbidden", err)
	}
	if err := in.SetAdmin(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if la, _ := in.LocalAccount("alice"); !la.User.Admin {
		t.Fatal("promote did not make alice an admin")
	}
	if err := in.SetSuspended(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Authenticate(ctx, "alice@example.org", "battery staple"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("suspended sign in: got %v, want ErrForbidden", err)
	}
	if err := in.SetSuspended(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	if la, _ := in.LocalAccount("alice"); la.Account.Suspended {
		t.Fatal("unsuspend left alice suspended")
	}
	for name, err := range map[string]error{
		"password":  in.SetPassword(ctx, "nobody", "battery staple"),
		"promote":   in.SetAdmin(ctx, "nobody", true),
		"suspend":   in.SetSuspended(ctx, "nobody", true),
		"weak pass": in.SetPassword(ctx, "alice", "short"),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := in.SetAdmin(ctx, "nobody", true); !errors.Is(err, storage.ErrNotFound) || err.Error() != `local account "nobody" not found` {
		t.Errorf("unknown user: %v", err)
	}
}

func TestVerifyPassword(t *testing.T) {
	hash, err := hashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		hash, password string
		ok, wantErr    bool
	}{
		{hash, "correct horse", true, false},
		{hash, "correct horsE", false, false},
		{hash, "", false, false},
		{"$2a$10$bcrypt", "x", false, true},
		{"$argon2id$v=19$m=1,t=1,p=1$!!$!!", "x", false, true},
		{"", "x", false, true},
	}
	for _, tt := range tests {
		ok, err := verifyPassword(tt.hash, tt.password)
		if ok != tt.ok || (err != nil) != tt.wantErr {
			t.Errorf("verifyPassword(%q, %q) = %v, %v", tt.hash, tt.password, ok, err)
		}
	}
}
