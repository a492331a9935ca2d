package storage

import (
	"crypto/sha256"
	"fmt"
	"time"
)

// App is an OAuth client application registered through the Mastodon API.
type App struct {
	ID               ID        `json:"id"`
	ClientID         string    `json:"client_id"`
	ClientSecretHash []byte    `json:"client_secret_hash"` // SHA-256 of the secret
	Name             string    `json:"name"`
	Website          string    `json:"website,omitempty"`
	RedirectURIs     []string  `json:"redirect_uris"`
	Scopes           []string  `json:"scopes"`
	CreatedAt        time.Time `json:"created_at"`
}

// Token is an OAuth access token. Only its SHA-256 is stored: a copy of
// the database does not hand out sessions.
type Token struct {
	Hash      []byte    `json:"hash"`
	AppID     ID        `json:"app_id"`
	AccountID ID        `json:"account_id,omitempty"` // 0 for a client_credentials token
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
}

// AuthCode is a single-use authorization code, stored by its SHA-256.
type AuthCode struct {
	Hash            []byte    `json:"hash"`
	AppID           ID        `json:"app_id"`
	AccountID       ID        `json:"account_id"`
	Scopes          []string  `json:"scopes"`
	RedirectURI     string    `json:"redirect_uri"`
	Challenge       string    `json:"challenge,omitempty"` // PKCE
	ChallengeMethod string    `json:"challenge_method,omitempty"`
	ExpiresAt       time.Time `json:"expires_at"`
}

// SecretHash is how tokens, codes and client secrets are stored: they are
// long random strings, so a plain SHA-256 cannot be reversed.
func SecretHash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// CreateApp stores an app; its ID and client id must be new.
func (tx *Tx) CreateApp(a *App) error {
	apps, err := tx.bucket(bucketApps)
	if err != nil {
		return err
	}
	byClient, err := tx.bucket(bucketAppsByClient)
	if err != nil {
		return err
	}
	if apps.Get(a.ID.Key()) != nil || byClient.Get([]byte(a.ClientID)) != nil {
		return fmt.Errorf("app %s: %w", a.ClientID, ErrExists)
	}
	if err := putJSON(apps, a.ID.Key(), a); err != nil {
		return err
	}
	return byClient.Put([]byte(a.ClientID), a.ID.Key())
}

// App returns an app by ID.
func (tx *Tx) App(id ID) (*App, error) {
	apps, err := tx.bucket(bucketApps)
	if err != nil {
		return nil, err
	}
	var a App
	if err := getJSON(apps, id.Key(), &a); err != nil {
		return nil, fmt.Errorf("app %s: %w", id, err)
	}
	return &a, nil
}

// AppByClientID returns an app by its OAuth client id.
func (tx *Tx) AppByClientID(clientID string) (*App, error) {
	byClient, err := tx.bucket(bucketAppsByClient)
	if err != nil {
		return nil, err
	}
	id := byClient.Get([]byte(clientID))
	if id == nil {
		return nil, fmt.Errorf("app %s: %w", clientID, ErrNotFound)
	}
	return tx.App(idFromKey(id))
}

// PutToken stores an access token.
func (tx *Tx) PutToken(t *Token) error {
	tokens, err := tx.bucket(bucketTokens)
	if err != nil {
		return err
	}
	return putJSON(tokens, t.Hash, t)
}

// Token returns the token whose SHA-256 is hash.
func (tx *Tx) Token(hash []byte) (*Token, error) {
	tokens, err := tx.bucket(bucketTokens)
	if err != nil {
		return nil, err
	}
	var t Token
	if err := getJSON(tokens, hash, &t); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return &t, nil
}

// DeleteToken revokes a token and its push subscription; revoking an
// unknown token is not an error.
func (tx *Tx) DeleteToken(hash []byte) error {
	tokens, err := tx.bucket(bucketTokens)
	if err != nil {
		return err
	}
	if t, err := tx.Token(hash); err == nil && t.AccountID != 0 {
		if err := tx.DeletePushSubscription(t.AccountID, hash); err != nil {
			return err
		}
	}
	return tokens.Delete(hash)
}

// PutAuthCode stores an authorization code.
func (tx *Tx) PutAuthCode(c *AuthCode) error {
	codes, err := tx.bucket(bucketCodes)
	if err != nil {
		return err
	}
	return putJSON(codes, c.Hash, c)
}

// TakeAuthCode returns an authorization code and deletes it, so it can be
// used once. An expired code is deleted and reported as not found.
func (tx *Tx) TakeAuthCode(hash []byte, now time.Time) (*AuthCode, error) {
	codes, err := tx.bucket(bucketCodes)
	if err != nil {
		return nil, err
	}
	var c AuthCode
	if err := getJSON(codes, hash, &c); err != nil {
		return nil, fmt.Errorf("authorization code: %w", err)
	}
	if err := codes.Delete(hash); err != nil {
		return nil, err
	}
	if now.After(c.ExpiresAt) {
		return nil, fmt.Errorf("authorization code expired: %w", ErrNotFound)
	}
	return &c, nil
}
