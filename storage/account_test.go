package storage

import (
	"errors"
	"testing"
)

func TestCreateAccount_uniqueKeys(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	alice := testAccount(s, "Alice", "")
	remote := testAccount(s, "alice", "remote.test")
	for _, a := range []*Account{alice, remote} {
		if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateAccount(a) }); err != nil {
			t.Fatalf("create %s@%s: %v", a.Username, a.Domain, err)
		}
	}
	tests := []struct {
		name   string
		mutate func(a *Account)
	}{
		{"same ID", func(a *Account) { a.ID = alice.ID; a.URI = "https://x.test/1"; a.Username = "x" }},
		{"same URI", func(a *Account) { a.URI = alice.URI; a.Username = "y" }},
		{"same username other case", func(a *Account) { a.URI = "https://x.test/2"; a.Username = "ALICE" }},
		{"same remote acct", func(a *Account) { a.URI = "https://x.test/3"; a.Username = "alice"; a.Domain = "REMOTE.test" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testAccount(s, "bob", "")
			tt.mutate(a)
			err := s.Update(ctx, func(tx *Tx) error { return tx.CreateAccount(a) })
			if !errors.Is(err, ErrExists) {
				t.Fatalf("got %v, want ErrExists", err)
			}
		})
	}
}

func TestAccountLookups(t *testing.T) {
	s := newTestStore(t)
	a := testAccount(s, "Alice", "")
	a.DisplayName = "Alice A."
	if err := s.Update(t.Context(), func(tx *Tx) error { return tx.CreateAccount(a) }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		lookup  func(tx *Tx) (*Account, error)
		wantErr error
	}{
		{"by id", func(tx *Tx) (*Account, error) { return tx.Account(a.ID) }, nil},
		{"by uri", func(tx *Tx) (*Account, error) { return tx.AccountByURI(a.URI) }, nil},
		{"by acct", func(tx *Tx) (*Account, error) { return tx.AccountByAcct("alice", "") }, nil},
		{"by acct upper", func(tx *Tx) (*Account, error) { return tx.AccountByAcct("ALICE", "") }, nil},
		{"unknown id", func(tx *Tx) (*Account, error) { return tx.Account(a.ID + 1) }, ErrNotFound},
		{"unknown uri", func(tx *Tx) (*Account, error) { return tx.AccountByURI(a.URI + "x") }, ErrNotFound},
		{"remote acct", func(tx *Tx) (*Account, error) { return tx.AccountByAcct("alice", "remote.test") }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *Account
			err := s.View(func(tx *Tx) error {
				var err error
				got, err = tt.lookup(tx)
				return err
			})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != a.ID || got.DisplayName != "Alice A." || got.Username != "Alice" {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestPutAccount_identityIsFixed(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	a := testAccount(s, "alice", "")
	if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateAccount(a) }); err != nil {
		t.Fatal(err)
	}
	changed := *a
	changed.DisplayName = "New name"
	changed.FollowersCount = 3
	if err := s.Update(ctx, func(tx *Tx) error { return tx.PutAccount(&changed) }); err != nil {
		t.Fatal(err)
	}
	renamed := changed
	renamed.Username = "mallory"
	if err := s.Update(ctx, func(tx *Tx) error { return tx.PutAccount(&renamed) }); err == nil {
		t.Fatal("renaming through PutAccount succeeded, want an error")
	}
	err := s.View(func(tx *Tx) error {
		got, err := tx.AccountByAcct("alice", "")
		if err != nil {
			return err
		}
		if got.DisplayName != "New name" || got.FollowersCount != 3 {
			t.Errorf("after PutAccount: %+v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUsers_emailUniqueAndCounted(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	create := func(username, email string) error {
		a := testAccount(s, username, "")
		return s.Update(ctx, func(tx *Tx) error {
			if err := tx.CreateAccount(a); err != nil {
				return err
			}
			return tx.CreateUser(&User{AccountID: a.ID, Email: email, PasswordHash: "x"})
		})
	}
	if err := create("alice", "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := create("bob", "ALICE@example.org"); !errors.Is(err, ErrExists) {
		t.Fatalf("same email, other case: got %v, want ErrExists", err)
	}
	if err := create("bob", "bob@example.org"); err != nil {
		t.Fatal(err)
	}
	err := s.View(func(tx *Tx) error {
		n, err := tx.Counter(CounterLocalUsers)
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("local users = %d, want 2 (the failed create must not count)", n)
		}
		u, err := tx.UserByEmail("Bob@Example.org")
		if err != nil {
			return err
		}
		a, err := tx.Account(u.AccountID)
		if err != nil {
			return err
		}
		if a.Username != "bob" {
			t.Errorf("UserByEmail found %s", a.Username)
		}
		var names []string
		if err := tx.ForEachUser(func(a *Account, _ *User) error {
			names = append(names, a.Username)
			return nil
		}); err != nil {
			return err
		}
		if len(names) != 2 || names[0] != "alice" || names[1] != "bob" {
			t.Errorf("ForEachUser = %v, want [alice bob] in creation order", names)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPutUser_changeEmail(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	var ids []ID
	for _, name := range []string{"alice", "bob"} {
		a := testAccount(s, name, "")
		ids = append(ids, a.ID)
		if err := s.Update(ctx, func(tx *Tx) error {
			if err := tx.CreateAccount(a); err != nil {
				return err
			}
			return tx.CreateUser(&User{AccountID: a.ID, Email: name + "@example.org"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Update(ctx, func(tx *Tx) error {
		return tx.PutUser(&User{AccountID: ids[0], Email: "bob@example.org"})
	})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("taking bob's email: got %v, want ErrExists", err)
	}
	if err := s.Update(ctx, func(tx *Tx) error {
		return tx.PutUser(&User{AccountID: ids[0], Email: "alice@new.example"})
	}); err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Tx) error {
		if _, err := tx.UserByEmail("alice@example.org"); !errors.Is(err, ErrNotFound) {
			t.Errorf("old email still indexed: %v", err)
		}
		_, err := tx.UserByEmail("alice@new.example")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSettings(t *testing.T) {
	s := newTestStore(t)
	err := s.View(func(tx *Tx) error { _, err := tx.Setting("domain"); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("unset setting: %v, want ErrNotFound", err)
	}
	if err := s.Update(t.Context(), func(tx *Tx) error { return tx.PutSetting("domain", "a.test") }); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := s.View(func(tx *Tx) error { var err error; got, err = tx.Setting("domain"); return err }); err != nil || got != "a.test" {
		t.Fatalf("setting = %q, %v", got, err)
	}
}

func TestPutAccount_keyRotationReindexes(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	a := testAccount(s, "bob", "b.test")
	a.PublicKeyID = a.URI + "#main-key"
	if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateAccount(a) }); err != nil {
		t.Fatal(err)
	}
	rotated := *a
	rotated.PublicKeyID = a.URI + "#key-2"
	if err := s.Update(ctx, func(tx *Tx) error { return tx.PutAccount(&rotated) }); err != nil {
		t.Fatal(err)
	}
	err := s.View(func(tx *Tx) error {
		if _, err := tx.AccountByKeyID(a.PublicKeyID); !errors.Is(err, ErrNotFound) {
			t.Errorf("old key still indexed: %v", err)
		}
		got, err := tx.AccountByKeyID(rotated.PublicKeyID)
		if err != nil {
			return err
		}
		if got.ID != a.ID {
			t.Errorf("new key points at %s", got.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Another account cannot claim bob's key.
	mallory := testAccount(s, "mallory", "c.test")
	mallory.PublicKeyID = rotated.PublicKeyID
	if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateAccount(mallory) }); !errors.Is(err, ErrExists) {
		t.Fatalf("claiming another account's key: %v, want ErrExists", err)
	}
}
