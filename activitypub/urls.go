package activitypub

import (
	"net/url"
	"strings"

	"github.com/rhizome-fed/rhizome/storage"
)

// The URL scheme of local actors, Mastodon's shape:
//
//	/users/{username}            actor
//	/users/{username}/inbox      personal inbox
//	/users/{username}/outbox     outbox
//	/users/{username}/followers  followers collection
//	/users/{username}/following  following collection
//	/users/{username}/collections/featured  pinned posts
//	/@{username}                 profile page
//	/inbox                       shared inbox
//	/actor                       the instance actor
const (
	PathUsers       = "/users/"
	PathSharedInbox = "/inbox"
	PathInstance    = "/actor"
	pathProfilePage = "/@"
	suffixInbox     = "/inbox"
	suffixOutbox    = "/outbox"
	suffixFollowers = "/followers"
	suffixFollowing = "/following"
	suffixFeatured  = "/collections/featured"
	fragmentMainKey = "#main-key"
	instanceOutbox  = PathInstance + suffixOutbox
	instanceInbox   = PathInstance + suffixInbox
	instanceProfile = "/"
)

// BaseURL returns "https://domain" (or http:// when so configured).
func (in *Instance) BaseURL() string { return in.protocol + "://" + in.domain }

// Domain returns the instance's host, with its port if it has one.
func (in *Instance) Domain() string { return in.domain }

// ActorURI returns the ActivityPub id of a local account.
func (in *Instance) ActorURI(username string) string {
	return in.BaseURL() + PathUsers + url.PathEscape(username)
}

// ProfileURL returns the HTML profile page of a local account.
func (in *Instance) ProfileURL(username string) string {
	return in.BaseURL() + pathProfilePage + url.PathEscape(username)
}

// InstanceActorURI returns the id of the instance's own actor.
func (in *Instance) InstanceActorURI() string { return in.BaseURL() + PathInstance }

// SharedInboxURI returns the instance's shared inbox.
func (in *Instance) SharedInboxURI() string { return in.BaseURL() + PathSharedInbox }

// localUsername returns the username of a local actor or profile URL, or
// "" when uri is not one.
func (in *Instance) localUsername(uri string) string {
	for _, prefix := range []string{in.BaseURL() + PathUsers, in.BaseURL() + pathProfilePage} {
		if rest, ok := strings.CutPrefix(uri, prefix); ok && rest != "" && !strings.Contains(rest, "/") {
			if name, err := url.PathUnescape(rest); err == nil {
				return name
			}
		}
	}
	return ""
}

// Paths of account images served here: remote accounts' avatars and
// headers through the file cache, and the image shown for no avatar.
const (
	AvatarProxyPath   = "/media/proxy/avatars/"
	HeaderProxyPath   = "/media/proxy/headers/"
	DefaultAvatarPath = "/avatars/original/missing.png"
)

// AvatarURL is where clients load an account's avatar from: a remote one
// through this instance's cache (so clients never reveal themselves to
// other hosts), the default image for none.
func (in *Instance) AvatarURL(a *storage.Account) string {
	switch {
	case a.AvatarURL == "":
		return in.BaseURL() + DefaultAvatarPath
	case !a.Local():
		return in.BaseURL() + AvatarProxyPath + a.ID.String()
	}
	return a.AvatarURL
}
