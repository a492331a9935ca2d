package activitypub

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

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

// Usage counts users and posts. Totals come from counters; the activity
// windows scan local users (one record each, a small bucket).
func (in *Instance) Usage() (Usage, error) {
	now := in.now()
	month, halfyear := now.AddDate(0, 0, -30), now.AddDate(0, 0, -180)
	var u Usage
	err := in.store.View(func(tx *storage.Tx) error {
		var err error
		if u.Users, err = tx.Counter(storage.CounterLocalUsers); err != nil {
			return err
		}
		if u.LocalPosts, err = tx.Counter(storage.CounterLocalStatuses); err != nil {
			return err
		}
		return tx.ForEachUser(func(a *storage.Account, user *storage.User) error {
			if a.Suspended {
				return nil
			}
			if user.LastActiveAt.After(month) {
				u.ActiveMonth++
			}
			if user.LastActiveAt.After(halfyear) {
				u.ActiveHalfyear++
			}
			return nil
		})
	})
	return u, err
}
