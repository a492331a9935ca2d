package activitypub

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// usernamePattern is what Mastodon allows for local usernames.
var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,30}$`)

const maxEmailLen = 254

// NewAccount is what CreateAccount needs to make a local account.
type NewAccount struct {
	Username string
	Email    string
	Password string
	Admin    bool
}

// LocalAccount is a local account with its user record.
type LocalAccount struct {
	Account *storage.Account
	User    *storage.User
}

// CreateAccount makes a local account with its key pair and credentials.
// It returns an InvalidError naming the field for a bad or taken username,
// a bad or taken email, or a weak password.
func (in *Instance) CreateAccount(ctx context.Context, n NewAccount) (*LocalAccount, error) {
	if !usernamePattern.MatchString(n.Username) {
		return nil, &InvalidError{"username", "must be 1 to 30 letters, digits or underscores"}
	}
	email, err := checkEmail(n.Email)
	if err != nil {
		return nil, err
	}
	if err := checkPassword(n.Password, n.Username); err != nil {
		return nil, err
	}
	hash, err := hashPassword(n.Password)
	if err != nil {
		return nil, err
	}
	key, err := newKeyPair()
	if err != nil {
		return nil, err
	}
	now := in.now().UTC()
	uri := in.ActorURI(n.Username)
	a := &storage.Account{
		ID:             in.store.NewID(),
		URI:            uri,
		Username:       n.Username,
		ActorType:      "Person",
		DisplayName:    n.Username,
		URL:            in.ProfileURL(n.Username),
		InboxURI:       uri + suffixInbox,
		SharedInboxURI: in.SharedInboxURI(),
		OutboxURI:      uri + suffixOutbox,
		FollowersURI:   uri + suffixFollowers,
		FollowingURI:   uri + suffixFollowing,
		FeaturedURI:    uri + suffixFeatured,
		PublicKeyID:    uri + fragmentMainKey,
		PublicKeyPEM:   key.publicPEM,
		Discoverable:   true,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	u := &storage.User{
		AccountID:    a.ID,
		Email:        email,
		PasswordHash: hash,
		Admin:        n.Admin,
		CreatedAt:    now,
		// LastActiveAt stays zero until the first sign-in.
	}
	err = in.store.Batch(ctx, func(tx *storage.Tx) error {
		if _, err := tx.AccountByAcct(a.Username, ""); err == nil {
			return &InvalidError{"username", "is already taken"}
		}
		if _, err := tx.UserByEmail(email); err == nil {
			return &InvalidError{"email", "is already taken"}
		}
		if err := tx.CreateAccount(a); err != nil {
			return err
		}
		if err := tx.PutPrivateKey(a.ID, key.privatePEM); err != nil {
			return err
		}
		return tx.CreateUser(u)
	})
	if err != nil {
		return nil, err
	}
	in.log.InfoContext(ctx, "account created", "account_id", a.ID, "username", a.Username, "admin", n.Admin)
	return &LocalAccount{Account: a, User: u}, nil
}

func checkEmail(addr string) (string, error) {
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Address != addr || parsed.Name != "" || len(addr) > maxEmailLen {
		return "", &InvalidError{"email", "is not a valid address"}
	}
	if _, domain, _ := strings.Cut(addr, "@"); domain == "" || strings.HasPrefix(domain, "[") {
		return "", &InvalidError{"email", "is not a valid address"}
	}
	return addr, nil
}

// LocalAccount returns a local account and its user by username.
func (in *Instance) LocalAccount(username string) (*LocalAccount, error) {
	var la LocalAccount
	err := in.store.View(func(tx *storage.Tx) error {
		a, err := tx.AccountByAcct(username, "")
		if err != nil {
			return err
		}
		u, err := tx.User(a.ID)
		if err != nil {
			return err
		}
		la = LocalAccount{Account: a, User: u}
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, &NotFoundError{fmt.Sprintf("local account %q", username)}
	}
	return &la, err
}

// LocalActor returns the account of a local user by username, as served at
// /users/{username}. The instance actor shares the local namespace but is
// not one: it lives at /actor.
func (in *Instance) LocalActor(username string) (*storage.Account, error) {
	var a *storage.Account
	err := in.store.View(func(tx *storage.Tx) error {
		var err error
		a, err = tx.AccountByAcct(username, "")
		return err
	})
	if errors.Is(err, storage.ErrNotFound) || (err == nil && a.URI != in.ActorURI(a.Username)) {
		return nil, &NotFoundError{fmt.Sprintf("actor %q", username)}
	}
	return a, err
}

// LocalAccounts returns every local account, oldest first.
func (in *Instance) LocalAccounts() ([]LocalAccount, error) {
	var all []LocalAccount
	err := in.store.View(func(tx *storage.Tx) error {
		return tx.ForEachUser(func(a *storage.Account, u *storage.User) error {
			all = append(all, LocalAccount{Account: a, User: u})
			return nil
		})
	})
	return all, err
}

// SetPassword replaces a local account's password.
func (in *Instance) SetPassword(ctx context.Context, username, password string) error {
	if err := checkPassword(password, username); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	return in.updateUser(ctx, username, func(_ *storage.Account, u *storage.User) { u.PasswordHash = hash })
}

// SetAdmin promotes a local account to administrator or demotes it.
func (in *Instance) SetAdmin(ctx context.Context, username string, admin bool) error {
	return in.updateUser(ctx, username, func(_ *storage.Account, u *storage.User) { u.Admin = admin })
}

// SetSuspended suspends or unsuspends a local account. A suspended account
// cannot sign in and its actor document shows no profile.
func (in *Instance) SetSuspended(ctx context.Context, username string, suspended bool) error {
	now := in.now().UTC()
	return in.updateUser(ctx, username, func(a *storage.Account, _ *storage.User) {
		a.Suspended = suspended
		a.UpdatedAt = now
	})
}

// updateUser applies change to a local account and its user in one
// transaction.
func (in *Instance) updateUser(ctx context.Context, username string, change func(*storage.Account, *storage.User)) error {
	err := in.store.Batch(ctx, func(tx *storage.Tx) error {
		a, err := tx.AccountByAcct(username, "")
		if err != nil {
			return err
		}
		u, err := tx.User(a.ID)
		if err != nil {
			return err
		}
		change(a, u)
		if err := tx.PutAccount(a); err != nil {
			return err
		}
		return tx.PutUser(u)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return &NotFoundError{fmt.Sprintf("local account %q", username)}
	}
	return err
}

// Authenticate returns the local account whose email and password match.
// A suspended account, an unknown email and a wrong password all fail with
// ErrForbidden, so a caller cannot tell which.
func (in *Instance) Authenticate(ctx context.Context, email, password string) (*LocalAccount, error) {
	var la LocalAccount
	err := in.store.View(func(tx *storage.Tx) error {
		u, err := tx.UserByEmail(email)
		if err != nil {
			return err
		}
		a, err := tx.Account(u.AccountID)
		if err != nil {
			return err
		}
		la = LocalAccount{Account: a, User: u}
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		// Spend the same time as a real check so timing reveals nothing.
		_, _ = verifyPassword(dummyHash(), password)
		return nil, ErrForbidden
	}
	if err != nil {
		return nil, err
	}
	ok, err := verifyPassword(la.User.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok || la.Account.Suspended {
		return nil, ErrForbidden
	}
	now := in.now().UTC()
	if err := in.store.Batch(ctx, func(tx *storage.Tx) error {
		u, err := tx.User(la.Account.ID) // re-read: a password change may have landed
		if err != nil {
			return err
		}
		u.LastActiveAt = now
		return tx.PutUser(u)
	}); err != nil {
		return nil, err
	}
	la.User.LastActiveAt = now
	return &la, nil
}

// dummyHash is verified against when the email is unknown.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword("no such user")
	if err != nil {
		return "" // verifyPassword then fails fast; only timing suffers
	}
	return h
})

// Report is a report as admins see it.
type Report struct {
	ID       storage.ID
	URI      string
	Reporter string   // actor id of the sender
	Targets  []string // usernames of the reported local accounts
	Statuses []string // URLs of the reported local statuses
	Comment  string
	Created  time.Time
}

// Reports returns the newest reports, up to limit.
func (in *Instance) Reports(limit int) ([]Report, error) {
	var out []Report
	err := in.store.View(func(tx *storage.Tx) error {
		reports, err := tx.Reports(limit)
		if err != nil {
			return err
		}
		for _, r := range reports {
			rep := Report{ID: r.ID, URI: r.URI, Comment: r.Comment, Created: r.CreatedAt}
			if a, err := tx.Account(r.ReporterID); err == nil {
				rep.Reporter = a.URI
			}
			for _, id := range r.TargetIDs {
				if a, err := tx.Account(id); err == nil {
					rep.Targets = append(rep.Targets, a.Username)
				}
			}
			for _, id := range r.StatusIDs {
				if s, err := tx.Status(id); err == nil {
					rep.Statuses = append(rep.Statuses, s.URL)
				}
			}
			out = append(out, rep)
		}
		return nil
	})
	return out, err
}
