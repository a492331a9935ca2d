package activitypub

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// actorRefreshAfter is how long a cached remote actor is trusted before it
// is fetched again on use.
const actorRefreshAfter = 24 * time.Hour

// actorTypes are the ActivityStreams actor types.
var actorTypes = map[string]bool{"Person": true, "Service": true, "Application": true, "Group": true, "Organization": true}

// Limits on remote actor fields, as Mastodon applies them.
const (
	maxUsernameLen    = 2048
	maxDisplayNameLen = 1024
	maxSummaryLen     = 20 << 10
)

// parseActor turns a fetched actor document into an account record.
// fromHost is the host the document came from; the actor's id must be on
// it.
func parseActor(doc map[string]any, fromHost string) (*storage.Account, error) {
	typ := stringProp(doc, "type")
	if !actorTypes[typ] {
		return nil, fmt.Errorf("%w: type %q is not an actor", ErrFetch, typ)
	}
	id := stringProp(doc, "id")
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, fromHost) || httpURL(id) == "" {
		return nil, fmt.Errorf("%w: actor id %q is not an http(s) URL on %s", ErrFetch, id, fromHost)
	}
	username := stringProp(doc, "preferredUsername")
	if username == "" || len(username) > maxUsernameLen || strings.ContainsAny(username, "@/ \t\n") {
		return nil, fmt.Errorf("%w: actor %s has no usable preferredUsername", ErrFetch, id)
	}
	inbox := stringProp(doc, "inbox")
	if inbox == "" {
		return nil, fmt.Errorf("%w: actor %s has no inbox", ErrFetch, id)
	}
	keyID, keyPEM := actorKey(doc, "")
	if keyPEM == "" {
		return nil, fmt.Errorf("%w: actor %s has no public key", ErrFetch, id)
	}
	if !keyBelongsTo(keyID, id) {
		// Otherwise an actor could claim another's key id and lock the
		// real owner out of our key index.
		return nil, fmt.Errorf("%w: key %q of actor %s is not under the actor's id", ErrFetch, keyID, id)
	}
	if _, err := parsePublicKeyPEM(keyPEM); err != nil {
		return nil, fmt.Errorf("%w: actor %s: %w", ErrFetch, id, err)
	}
	a := &storage.Account{
		URI:          id,
		Username:     username,
		Domain:       strings.ToLower(u.Host),
		ActorType:    typ,
		DisplayName:  truncate(stringProp(doc, "name"), maxDisplayNameLen),
		Note:         SanitizeHTML(truncate(stringProp(doc, "summary"), maxSummaryLen)),
		URL:          httpURL(stringProp(doc, "url")),
		InboxURI:     inbox,
		OutboxURI:    stringProp(doc, "outbox"),
		FollowersURI: stringProp(doc, "followers"),
		FollowingURI: stringProp(doc, "following"),
		FeaturedURI:  stringProp(doc, "featured"),
		PublicKeyID:  keyID,
		PublicKeyPEM: keyPEM,
		AvatarURL:    httpURL(stringProp(doc, "icon")),
		HeaderURL:    httpURL(stringProp(doc, "image")),
		Locked:       doc["manuallyApprovesFollowers"] == true,
		Discoverable: doc["discoverable"] == true,
		Suspended:    doc["suspended"] == true,
	}
	if ep, ok := doc["endpoints"].(map[string]any); ok {
		a.SharedInboxURI = stringProp(ep, "sharedInbox")
	}
	if icon, ok := doc["icon"].(map[string]any); ok {
		a.AvatarURL = httpURL(stringProp(icon, "url"))
	}
	if image, ok := doc["image"].(map[string]any); ok {
		a.HeaderURL = httpURL(stringProp(image, "url"))
	}
	if published, err := time.Parse(time.RFC3339, stringProp(doc, "published")); err == nil {
		a.CreatedAt = published.UTC()
	}
	for _, att := range asList(doc["attachment"]) {
		m, ok := att.(map[string]any)
		if !ok || stringProp(m, "type") != "PropertyValue" || len(a.Fields) >= 50 {
			continue
		}
		a.Fields = append(a.Fields, storage.ProfileField{
			Name:  htmlEscape(truncate(stringProp(m, "name"), 2047)),
			Value: SanitizeHTML(truncate(stringProp(m, "value"), 2047)),
		})
	}
	return a, nil
}

// actorKey returns the id and PEM of the actor's public key: the one whose
// id is keyID, or the first when keyID is "". publicKey may be an object or
// an array of them.
func actorKey(doc map[string]any, keyID string) (string, string) {
	var keys []any
	switch pk := doc["publicKey"].(type) {
	case map[string]any:
		keys = []any{pk}
	case []any:
		keys = pk
	}
	for _, k := range keys {
		m, ok := k.(map[string]any)
		if !ok {
			continue
		}
		id, pemKey := stringProp(m, "id"), stringProp(m, "publicKeyPem")
		if owner := stringProp(m, "owner"); owner != "" && owner != stringProp(doc, "id") {
			continue // a key claiming another owner proves nothing here
		}
		if pemKey != "" && (keyID == "" || id == keyID) {
			return id, pemKey
		}
	}
	return "", ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// RemoteActor returns the remote actor with the given id, from the cache
// when it is fresh, fetched (and cached) otherwise. With refresh it always
// fetches. A cached copy is returned when a refresh fails.
func (in *Instance) RemoteActor(ctx context.Context, uri string, refresh bool) (*storage.Account, error) {
	var cached *storage.Account
	err := in.store.View(func(tx *storage.Tx) error {
		var err error
		cached, err = tx.AccountByURI(uri)
		return err
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if cached != nil && (cached.Local() || (!refresh && in.now().Sub(cached.FetchedAt) < actorRefreshAfter)) {
		return cached, nil
	}
	a, err := in.fetchActor(ctx, uri)
	if err != nil {
		if cached != nil && !errors.Is(err, ErrGone) {
			in.log.WarnContext(ctx, "actor refresh failed; using cached copy", "actor", uri, "err", err)
			return cached, nil
		}
		return nil, err
	}
	return in.saveRemoteActor(ctx, a)
}

// fetchActor fetches and parses an actor document.
func (in *Instance) fetchActor(ctx context.Context, uri string) (*storage.Account, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: actor id %q is not a URL", ErrFetch, uri)
	}
	if strings.EqualFold(u.Host, in.domain) {
		return nil, &NotFoundError{What: "local actor " + uri}
	}
	doc, _, err := in.fetchObject(ctx, uri)
	if err != nil {
		return nil, err
	}
	a, err := parseActor(doc, u.Host)
	if err != nil {
		return nil, err
	}
	u.Fragment = ""
	if a.URI != u.String() {
		return nil, fmt.Errorf("%w: fetched %s but got actor %s", ErrFetch, uri, a.URI)
	}
	return a, nil
}

// saveRemoteActor creates or refreshes the cached record of a remote actor.
func (in *Instance) saveRemoteActor(ctx context.Context, fetched *storage.Account) (*storage.Account, error) {
	now := in.now().UTC()
	fetched.FetchedAt, fetched.UpdatedAt = now, now
	if fetched.CreatedAt.IsZero() {
		fetched.CreatedAt = now
	}
	newID := in.store.NewID()
	var saved *storage.Account
	err := in.store.Batch(ctx, func(tx *storage.Tx) error {
		a := *fetched
		old, err := tx.AccountByURI(a.URI)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			a.ID = newID
			if err := tx.CreateAccount(&a); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			// Keep our identity of the account and its counters; take the
			// rest from the fresh document.
			a.ID, a.Username, a.Domain, a.CreatedAt = old.ID, old.Username, old.Domain, old.CreatedAt
			a.FollowersCount, a.FollowingCount, a.StatusesCount = old.FollowersCount, old.FollowingCount, old.StatusesCount
			if err := tx.PutAccount(&a); err != nil {
				return err
			}
		}
		saved = &a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// publicKey finds the key a signature names. It looks in the cache first
// unless refresh is set; otherwise it fetches the key id, which is either
// the actor itself (Mastodon's "#main-key"), a document naming its owner
// (GoToSocial's "/main-key"), or a stub actor. The owner must list the key.
func (in *Instance) publicKey(ctx context.Context, keyID string, refresh bool) (crypto.PublicKey, *storage.Account, error) {
	if !refresh {
		var a *storage.Account
		err := in.store.View(func(tx *storage.Tx) error {
			var err error
			a, err = tx.AccountByKeyID(keyID)
			return err
		})
		if err == nil {
			pub, err := parsePublicKeyPEM(a.PublicKeyPEM)
			return pub, a, err
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return nil, nil, err
		}
	}
	u, err := url.Parse(keyID)
	if err != nil || u.Host == "" {
		return nil, nil, fmt.Errorf("%w: keyId %q is not a URL", ErrSignature, keyID)
	}
	if strings.EqualFold(u.Host, in.domain) {
		return nil, nil, fmt.Errorf("%w: keyId %s is ours", ErrSignature, keyID)
	}
	doc, _, err := in.fetchObject(ctx, keyID)
	if err != nil {
		return nil, nil, err
	}
	ownerURI := stringProp(doc, "id")
	if !actorTypes[stringProp(doc, "type")] || stringProp(doc, "inbox") == "" {
		// A key document or a stub: its owner is the actor.
		ownerURI = stringProp(doc, "owner")
		if pk, ok := doc["publicKey"].(map[string]any); ok && ownerURI == "" {
			ownerURI = stringProp(pk, "owner")
		}
	}
	if ownerURI == "" {
		return nil, nil, fmt.Errorf("%w: key %s names no owner", ErrSignature, keyID)
	}
	owner, err := in.fetchActor(ctx, ownerURI)
	if err != nil {
		return nil, nil, err
	}
	if owner.PublicKeyID != keyID {
		return nil, nil, fmt.Errorf("%w: actor %s does not list key %s", ErrSignature, ownerURI, keyID)
	}
	saved, err := in.saveRemoteActor(ctx, owner)
	if err != nil {
		return nil, nil, err
	}
	pub, err := parsePublicKeyPEM(saved.PublicKeyPEM)
	return pub, saved, err
}

// ResolveAccount finds a remote account by "user@host" (with or without a
// leading "@" or "acct:") through WebFinger, and caches its actor.
func (in *Instance) ResolveAccount(ctx context.Context, acct string) (*storage.Account, error) {
	acct = strings.TrimPrefix(strings.TrimPrefix(acct, "acct:"), "@")
	user, host, ok := strings.Cut(acct, "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(host, "/@?# ") {
		return nil, &BadRequestError{fmt.Sprintf("%q is not of the form user@host", acct)}
	}
	if strings.EqualFold(host, in.domain) {
		la, err := in.LocalAccount(user)
		if err != nil {
			return nil, err
		}
		return la.Account, nil
	}
	var cached *storage.Account
	_ = in.store.View(func(tx *storage.Tx) error {
		cached, _ = tx.AccountByAcct(user, host)
		return nil
	})
	if cached != nil && in.now().Sub(cached.FetchedAt) < actorRefreshAfter {
		return cached, nil
	}
	actorURI, err := in.webfinger(ctx, user, host)
	if err != nil {
		return nil, err
	}
	return in.RemoteActor(ctx, actorURI, true)
}

// webfinger asks host for the actor id of user@host.
func (in *Instance) webfinger(ctx context.Context, user, host string) (string, error) {
	scheme := "https"
	if in.protocol == "http" {
		scheme = "http"
	}
	resource := "acct:" + user + "@" + host
	u := &url.URL{Scheme: scheme, Host: host, Path: "/.well-known/webfinger", RawQuery: "resource=" + url.QueryEscape(resource)}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req.Header.Set("Accept", "application/jrd+json, application/json")
	req.Header.Set("User-Agent", in.agent)
	resp, err := in.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: webfinger %s: %w", ErrFetch, resource, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		return "", &NotFoundError{What: "account " + user + "@" + host}
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: webfinger %s: status %d", ErrFetch, resource, resp.StatusCode)
	}
	var jrd struct {
		Subject string `json:"subject"`
		Links   []struct {
			Rel  string `json:"rel"`
			Type string `json:"type"`
			Href string `json:"href"`
		} `json:"links"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<10)).Decode(&jrd); err != nil {
		return "", fmt.Errorf("%w: webfinger %s: %w", ErrFetch, resource, err)
	}
	for _, l := range jrd.Links {
		if l.Rel == "self" && isActivityContentType(l.Type) && l.Href != "" {
			return l.Href, nil
		}
	}
	return "", fmt.Errorf("%w: webfinger %s: no ActivityPub self link", ErrFetch, resource)
}

// keyBelongsTo reports whether a key id is one its actor can own: the
// actor's id with a fragment (Mastodon's "#main-key") or a path below it
// (GoToSocial's "/main-key").
func keyBelongsTo(keyID, actorID string) bool {
	return keyID == actorID || strings.HasPrefix(keyID, actorID+"#") || strings.HasPrefix(keyID, actorID+"/")
}

// httpURL returns s when it is an absolute http or https URL, else "".
// Links we show (profile pages, avatars, attachments) must never carry
// another scheme, such as javascript:.
func httpURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}
