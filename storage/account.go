package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Account is an actor: a local user's public face or a remote actor we have
// seen. Local accounts have an empty Domain.
type Account struct {
	ID       ID     `json:"id"`
	URI      string `json:"uri"`      // the actor's ActivityPub id
	Username string `json:"username"` // preferredUsername, case kept
	Domain   string `json:"domain,omitempty"`
	// ActorType is the ActivityStreams type: Person, Service, Application,
	// Group or Organization.
	ActorType   string `json:"actor_type"`
	DisplayName string `json:"display_name,omitempty"`
	Note        string `json:"note,omitempty"` // HTML bio, sanitised
	URL         string `json:"url,omitempty"`  // profile page

	InboxURI       string `json:"inbox_uri,omitempty"`
	SharedInboxURI string `json:"shared_inbox_uri,omitempty"`
	OutboxURI      string `json:"outbox_uri,omitempty"`
	FollowersURI   string `json:"followers_uri,omitempty"`
	FollowingURI   string `json:"following_uri,omitempty"`
	FeaturedURI    string `json:"featured_uri,omitempty"`

	PublicKeyID  string `json:"public_key_id"`
	PublicKeyPEM string `json:"public_key_pem"`

	AvatarURL string `json:"avatar_url,omitempty"`
	HeaderURL string `json:"header_url,omitempty"`
	// AvatarMediaID and HeaderMediaID are a local account's uploads
	// shown as its avatar and header.
	AvatarMediaID ID `json:"avatar_media_id,omitempty"`
	HeaderMediaID ID `json:"header_media_id,omitempty"`

	Locked       bool `json:"locked,omitempty"` // manuallyApprovesFollowers
	Discoverable bool `json:"discoverable,omitempty"`
	Suspended    bool `json:"suspended,omitempty"`

	FollowersCount int64 `json:"followers_count,omitempty"`
	FollowingCount int64 `json:"following_count,omitempty"`
	StatusesCount  int64 `json:"statuses_count,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// FetchedAt is when a remote actor's document was last fetched.
	FetchedAt time.Time `json:"fetched_at,omitzero"`
	// Fields are the profile's name/value pairs (PropertyValue); values
	// are sanitised HTML.
	Fields []ProfileField `json:"fields,omitempty"`
}

// ProfileField is one name/value pair of a profile.
type ProfileField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Local reports whether the account belongs to this instance.
func (a *Account) Local() bool { return a.Domain == "" }

// acctKey is the index key for username@domain; the username part is
// case-insensitive, as in Mastodon, and a local account has no domain.
func acctKey(username, domain string) []byte {
	return []byte(strings.ToLower(username) + "@" + strings.ToLower(domain))
}

// CreateAccount stores a new account and its indexes. a.ID must be set
// (from Store.NewID or IDAt). It fails with ErrExists when the ID, URI or
// username@domain is taken.
func (tx *Tx) CreateAccount(a *Account) error {
	if a.ID == 0 || a.URI == "" || a.Username == "" {
		return fmt.Errorf("create account %q: id, uri and username are required", a.Username)
	}
	accounts, err := tx.bucket(bucketAccounts)
	if err != nil {
		return err
	}
	byURI, err := tx.bucket(bucketAccountsByURI)
	if err != nil {
		return err
	}
	byAcct, err := tx.bucket(bucketAccountsByAcc)
	if err != nil {
		return err
	}
	byKey, err := tx.bucket(bucketAccountsByKey)
	if err != nil {
		return err
	}
	acct := acctKey(a.Username, a.Domain)
	switch {
	case accounts.Get(a.ID.Key()) != nil:
		return fmt.Errorf("account id %s: %w", a.ID, ErrExists)
	case byURI.Get([]byte(a.URI)) != nil:
		return fmt.Errorf("account %s: %w", a.URI, ErrExists)
	case byAcct.Get(acct) != nil:
		return fmt.Errorf("account %s: %w", acct, ErrExists)
	case a.PublicKeyID != "" && byKey.Get([]byte(a.PublicKeyID)) != nil:
		return fmt.Errorf("public key %s: %w", a.PublicKeyID, ErrExists)
	}
	if err := putJSON(accounts, a.ID.Key(), a); err != nil {
		return err
	}
	if err := byURI.Put([]byte(a.URI), a.ID.Key()); err != nil {
		return err
	}
	if a.PublicKeyID != "" {
		if err := byKey.Put([]byte(a.PublicKeyID), a.ID.Key()); err != nil {
			return err
		}
	}
	return byAcct.Put(acct, a.ID.Key())
}

// PutAccount replaces an existing account. Its ID, URI, username and domain
// are the account's identity and cannot change; its key may (rotation).
func (tx *Tx) PutAccount(a *Account) error {
	old, err := tx.Account(a.ID)
	if err != nil {
		return err
	}
	if old.URI != a.URI || !strings.EqualFold(old.Username, a.Username) || !strings.EqualFold(old.Domain, a.Domain) {
		return fmt.Errorf("put account %s: identity fields changed", a.ID)
	}
	accounts, err := tx.bucket(bucketAccounts)
	if err != nil {
		return err
	}
	if old.PublicKeyID != a.PublicKeyID {
		byKey, err := tx.bucket(bucketAccountsByKey)
		if err != nil {
			return err
		}
		if owner := byKey.Get([]byte(a.PublicKeyID)); a.PublicKeyID != "" && owner != nil && idFromKey(owner) != a.ID {
			return fmt.Errorf("public key %s: %w", a.PublicKeyID, ErrExists)
		}
		if old.PublicKeyID != "" {
			if err := byKey.Delete([]byte(old.PublicKeyID)); err != nil {
				return err
			}
		}
		if a.PublicKeyID != "" {
			if err := byKey.Put([]byte(a.PublicKeyID), a.ID.Key()); err != nil {
				return err
			}
		}
	}
	return putJSON(accounts, a.ID.Key(), a)
}

// Account returns the account with the given ID.
func (tx *Tx) Account(id ID) (*Account, error) {
	accounts, err := tx.bucket(bucketAccounts)
	if err != nil {
		return nil, err
	}
	var a Account
	if err := getJSON(accounts, id.Key(), &a); err != nil {
		return nil, fmt.Errorf("account %s: %w", id, err)
	}
	return &a, nil
}

// AccountByURI returns the account whose actor id is uri.
func (tx *Tx) AccountByURI(uri string) (*Account, error) {
	return tx.accountByIndex(bucketAccountsByURI, []byte(uri))
}

// AccountByKeyID returns the account whose public key has the given id.
func (tx *Tx) AccountByKeyID(keyID string) (*Account, error) {
	return tx.accountByIndex(bucketAccountsByKey, []byte(keyID))
}

// AccountByAcct returns the account username@domain; domain is empty for a
// local account. The username is matched without regard to case.
func (tx *Tx) AccountByAcct(username, domain string) (*Account, error) {
	return tx.accountByIndex(bucketAccountsByAcc, acctKey(username, domain))
}

func (tx *Tx) accountByIndex(index, key []byte) (*Account, error) {
	b, err := tx.bucket(index)
	if err != nil {
		return nil, err
	}
	id := b.Get(key)
	if id == nil {
		return nil, fmt.Errorf("account %s: %w", key, ErrNotFound)
	}
	return tx.Account(idFromKey(id))
}

// PutPrivateKey stores the PEM private key of a local account or of the
// instance actor.
func (tx *Tx) PutPrivateKey(id ID, pem string) error {
	b, err := tx.bucket(bucketPrivateKeys)
	if err != nil {
		return err
	}
	return b.Put(id.Key(), []byte(pem))
}

// PrivateKey returns the PEM private key of a local account.
func (tx *Tx) PrivateKey(id ID) (string, error) {
	b, err := tx.bucket(bucketPrivateKeys)
	if err != nil {
		return "", err
	}
	v := b.Get(id.Key())
	if v == nil {
		return "", fmt.Errorf("private key of %s: %w", id, ErrNotFound)
	}
	return string(v), nil
}

func putJSON(b interface{ Put(k, v []byte) error }, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	return b.Put(key, data)
}

func getJSON(b interface{ Get(k []byte) []byte }, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return ErrNotFound
	}
	return decodeJSON(data, v)
}

func decodeJSON(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %T: %w: %w", v, ErrCorrupt, err)
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// KnownDomains returns the hosts of remote accounts we hold, each once,
// looking at no more than scan accounts.
func (tx *Tx) KnownDomains(scan int) ([]string, error) {
	accounts, err := tx.bucket(bucketAccountsByAcc)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	c := accounts.Cursor()
	n := 0
	for k, _ := c.First(); k != nil && n < scan; k, _ = c.Next() {
		n++
		_, domain, _ := strings.Cut(string(k), "@")
		if domain != "" && !seen[domain] {
			seen[domain] = true
			out = append(out, domain)
		}
	}
	return out, nil
}

// SearchAccounts returns accounts whose username@domain starts with
// prefix (lower case), at most limit of them, looking at no more than
// scan index entries.
func (tx *Tx) SearchAccounts(prefix string, limit, scan int) ([]*Account, error) {
	byAcct, err := tx.bucket(bucketAccountsByAcc)
	if err != nil {
		return nil, err
	}
	var out []*Account
	c := byAcct.Cursor()
	p := []byte(strings.ToLower(prefix))
	n := 0
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(out) < limit && n < scan; k, v = c.Next() {
		n++
		a, err := tx.Account(idFromKey(v))
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
