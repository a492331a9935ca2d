package storage

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// User holds what only a local account has: sign-in credentials and role.
// It is keyed by its account's ID.
type User struct {
	AccountID    ID        `json:"account_id"`
	Email        string    `json:"email"`
	PasswordHash string    `json:"password_hash"` // PHC string, e.g. $argon2id$...
	Admin        bool      `json:"admin,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	LastActiveAt time.Time `json:"last_active_at"`
	// Posting defaults, as Mastodon apps read them from source and
	// preferences.
	DefaultPrivacy   string `json:"default_privacy,omitempty"`
	DefaultSensitive bool   `json:"default_sensitive,omitempty"`
	DefaultLanguage  string `json:"default_language,omitempty"`
}

// CreateUser stores the credentials of a local account created in the same
// transaction, and counts the new user. It fails with ErrExists when the
// email is taken.
func (tx *Tx) CreateUser(u *User) error {
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	byEmail, err := tx.bucket(bucketUsersByEmail)
	if err != nil {
		return err
	}
	if _, err := tx.Account(u.AccountID); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	email := []byte(strings.ToLower(u.Email))
	switch {
	case users.Get(u.AccountID.Key()) != nil:
		return fmt.Errorf("user %s: %w", u.AccountID, ErrExists)
	case byEmail.Get(email) != nil:
		return fmt.Errorf("email %s: %w", email, ErrExists)
	}
	if err := putJSON(users, u.AccountID.Key(), u); err != nil {
		return err
	}
	if err := byEmail.Put(email, u.AccountID.Key()); err != nil {
		return err
	}
	return tx.addCounter(CounterLocalUsers, 1)
}

// PutUser replaces an existing user. The email may change; the new one must
// be free.
func (tx *Tx) PutUser(u *User) error {
	old, err := tx.User(u.AccountID)
	if err != nil {
		return err
	}
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	if !strings.EqualFold(old.Email, u.Email) {
		byEmail, err := tx.bucket(bucketUsersByEmail)
		if err != nil {
			return err
		}
		email := []byte(strings.ToLower(u.Email))
		if byEmail.Get(email) != nil {
			return fmt.Errorf("email %s: %w", email, ErrExists)
		}
		if err := byEmail.Delete([]byte(strings.ToLower(old.Email))); err != nil {
			return err
		}
		if err := byEmail.Put(email, u.AccountID.Key()); err != nil {
			return err
		}
	}
	return putJSON(users, u.AccountID.Key(), u)
}

// User returns the local user of the given account.
func (tx *Tx) User(accountID ID) (*User, error) {
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return nil, err
	}
	var u User
	if err := getJSON(users, accountID.Key(), &u); err != nil {
		return nil, fmt.Errorf("user %s: %w", accountID, err)
	}
	return &u, nil
}

// UserByEmail returns the local user with the given email, matched without
// regard to case.
func (tx *Tx) UserByEmail(email string) (*User, error) {
	byEmail, err := tx.bucket(bucketUsersByEmail)
	if err != nil {
		return nil, err
	}
	id := byEmail.Get([]byte(strings.ToLower(email)))
	if id == nil {
		return nil, fmt.Errorf("email %s: %w", email, ErrNotFound)
	}
	return tx.User(idFromKey(id))
}

// ForEachUser calls fn for every local user and its account, oldest first,
// until fn returns an error.
func (tx *Tx) ForEachUser(fn func(*Account, *User) error) error {
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	c := users.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		id := idFromKey(k)
		u, err := tx.User(id)
		if err != nil {
			return err
		}
		a, err := tx.Account(id)
		if err != nil {
			return err
		}
		if err := fn(a, u); err != nil {
			return err
		}
	}
	return nil
}

// Counter names.
const (
	CounterLocalUsers    = "local_users"
	CounterLocalStatuses = "local_statuses"
)

// Counter returns the value of a counter; one never written is zero.
func (tx *Tx) Counter(name string) (int64, error) {
	b, err := tx.bucket(bucketCounters)
	if err != nil {
		return 0, err
	}
	v := b.Get([]byte(name))
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("counter %s: %w", name, ErrCorrupt)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func (tx *Tx) addCounter(name string, delta int64) error {
	n, err := tx.Counter(name)
	if err != nil {
		return err
	}
	b, err := tx.bucket(bucketCounters)
	if err != nil {
		return err
	}
	return b.Put([]byte(name), binary.BigEndian.AppendUint64(nil, uint64(n+delta)))
}

// Setting returns an instance setting, or ErrNotFound.
func (tx *Tx) Setting(name string) (string, error) {
	b, err := tx.bucket(bucketSettings)
	if err != nil {
		return "", err
	}
	v := b.Get([]byte(name))
	if v == nil {
		return "", fmt.Errorf("setting %s: %w", name, ErrNotFound)
	}
	return string(v), nil
}

// PutSetting stores an instance setting.
func (tx *Tx) PutSetting(name, value string) error {
	b, err := tx.bucket(bucketSettings)
	if err != nil {
		return err
	}
	return b.Put([]byte(name), []byte(value))
}
