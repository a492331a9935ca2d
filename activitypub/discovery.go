package activitypub

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// maxResourceLen bounds a WebFinger resource; real ones are far shorter.
const maxResourceLen = 1024

// LookupResource finds the local actor a WebFinger resource names:
// "acct:user@domain" (also without "acct:"), an actor URL or a profile URL.
// It returns a BadRequestError for a malformed resource and a NotFoundError
// for one that names no actor of ours.
func (in *Instance) LookupResource(resource string) (*storage.Account, error) {
	username, err := in.parseResource(resource)
	if err != nil {
		return nil, err
	}
	var a *storage.Account
	err = in.store.View(func(tx *storage.Tx) error {
		var err error
		if username == "" {
			a, err = tx.AccountByURI(in.InstanceActorURI())
		} else {
			a, err = tx.AccountByAcct(username, "")
		}
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, &NotFoundError{fmt.Sprintf("resource %q", resource)}
	}
	return a, err
}

// parseResource returns the local username a resource names; "" means the
// instance actor.
func (in *Instance) parseResource(resource string) (string, error) {
	if resource == "" {
		return "", &BadRequestError{"resource parameter is missing"}
	}
	if len(resource) > maxResourceLen {
		return "", &BadRequestError{"resource is too long"}
	}
	notOurs := &NotFoundError{fmt.Sprintf("resource %q", resource)}
	lower := strings.ToLower(resource)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		u, err := url.Parse(resource)
		if err != nil || u.Host == "" {
			return "", &BadRequestError{"resource is not a valid URL"}
		}
		if !strings.EqualFold(u.Host, in.domain) {
			return "", notOurs
		}
		canonical := in.BaseURL() + u.EscapedPath()
		if canonical == in.InstanceActorURI() {
			return "", nil
		}
		if name := in.localUsername(canonical); name != "" {
			return name, nil
		}
		return "", notOurs
	}
	acct := resource
	if strings.HasPrefix(lower, "acct:") {
		acct = resource[len("acct:"):]
	} else if i := strings.Index(lower, ":"); i >= 0 && !strings.Contains(lower[:i], "@") {
		return "", &BadRequestError{fmt.Sprintf("resource scheme %q is not supported", resource[:i])}
	}
	acct = strings.TrimPrefix(acct, "@")
	user, host, ok := strings.Cut(acct, "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(host, "@/ ") || strings.ContainsAny(user, "/ ") {
		return "", &BadRequestError{"resource is not of the form acct:user@domain"}
	}
	if !strings.EqualFold(host, in.domain) {
		return "", notOurs
	}
	if strings.EqualFold(user, in.domain) {
		return "", nil
	}
	return user, nil
}

// Usage is what NodeInfo reports about the instance's use.
type Usage struct {
	Users          int64
	ActiveMonth    int64 // users active in the last 30 days
	ActiveHalfyear int64 // users active in the last 180 days
	LocalPosts     int64
}

// activityCountsMaxAge is how long counts of active users are reused. They
// need a scan of local users, which anonymous requests must not trigger
// each time.
const activityCountsMaxAge = time.Hour

// activityCounts caches the active-user counts.
type activityCounts struct {
	mu              sync.Mutex
	at              time.Time
	month, halfyear int64
}

// Usage counts users and posts. Users is every local account, suspended or
// not; the active counts take the users who signed in within 30 and 180
// days and are not suspended. Totals come from counters at once; the
// active counts are recomputed at most once an hour.
func (in *Instance) Usage() (Usage, error) {
	var u Usage
	err := in.store.View(func(tx *storage.Tx) error {
		var err error
		if u.Users, err = tx.Counter(storage.CounterLocalUsers); err != nil {
			return err
		}
		u.LocalPosts, err = tx.Counter(storage.CounterLocalStatuses)
		return err
	})
	if err != nil {
		return u, err
	}
	u.ActiveMonth, u.ActiveHalfyear, err = in.activeUsers()
	return u, err
}

func (in *Instance) activeUsers() (int64, int64, error) {
	c := &in.activity
	c.mu.Lock()
	defer c.mu.Unlock()
	now := in.now()
	if !c.at.IsZero() && now.Sub(c.at) < activityCountsMaxAge {
		return c.month, c.halfyear, nil
	}
	month, halfyear := now.AddDate(0, 0, -30), now.AddDate(0, 0, -180)
	var m, h int64
	err := in.store.View(func(tx *storage.Tx) error {
		return tx.ForEachUser(func(a *storage.Account, user *storage.User) error {
			if a.Suspended {
				return nil
			}
			if user.LastActiveAt.After(month) {
				m++
			}
			if user.LastActiveAt.After(halfyear) {
				h++
			}
			return nil
		})
	})
	if err != nil {
		return 0, 0, err
	}
	c.at, c.month, c.halfyear = now, m, h
	return m, h, nil
}
