package storage

import (
	"errors"
	"testing"
	"time"
)

func TestOAuthRecords(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	app := &App{ID: s.NewID(), ClientID: "client", ClientSecretHash: SecretHash("secret"), Name: "Tusky",
		RedirectURIs: []string{"urn:ietf:wg:oauth:2.0:oob"}, Scopes: []string{"read", "write"}, CreatedAt: time.Now()}
	now := time.Now()
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.CreateApp(app); err != nil {
			return err
		}
		if err := tx.PutToken(&Token{Hash: SecretHash("tok"), AppID: app.ID, AccountID: 7, Scopes: []string{"read"}}); err != nil {
			return err
		}
		if err := tx.PutAuthCode(&AuthCode{Hash: SecretHash("code"), AppID: app.ID, AccountID: 7, ExpiresAt: now.Add(time.Minute)}); err != nil {
			return err
		}
		return tx.PutAuthCode(&AuthCode{Hash: SecretHash("old"), AppID: app.ID, AccountID: 7, ExpiresAt: now.Add(-time.Second)})
	}); err != nil {
		t.Fatal(err)
	}
	dup := *app
	dup.ID = s.NewID()
	if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateApp(&dup) }); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate client id: %v", err)
	}
	if err := s.Update(ctx, func(tx *Tx) error {
		got, err := tx.AppByClientID("client")
		if err != nil || got.Name != "Tusky" {
			t.Errorf("app: %+v, %v", got, err)
		}
		tok, err := tx.Token(SecretHash("tok"))
		if err != nil || tok.AccountID != 7 {
			t.Errorf("token: %+v, %v", tok, err)
		}
		if _, err := tx.TakeAuthCode(SecretHash("code"), now); err != nil {
			t.Errorf("first use of a code: %v", err)
		}
		if _, err := tx.TakeAuthCode(SecretHash("code"), now); !errors.Is(err, ErrNotFound) {
			t.Errorf("second use of a code: %v", err)
		}
		if _, err := tx.TakeAuthCode(SecretHash("old"), now); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired code: %v", err)
		}
		if err := tx.DeleteToken(SecretHash("tok")); err != nil {
			return err
		}
		if _, err := tx.Token(SecretHash("tok")); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoked token: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
