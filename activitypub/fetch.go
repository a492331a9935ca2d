package activitypub

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// Limits of outbound fetches.
const (
	fetchTimeout     = 10 * time.Second
	maxRedirects     = 3
	maxDocumentBytes = 1 << 20
)

// acceptActivity is the Accept header of our fetches: both forms peers
// serve.
const acceptActivity = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

var (
	// ErrFetch reports a remote document that could not be fetched or was
	// not acceptable.
	ErrFetch = errors.New("activitypub: fetch failed")
	// ErrGone reports a remote document that was deleted (410).
	ErrGone = errors.New("activitypub: remote document is gone")
)

// fetchSignerKey carries the key that signs a request through redirects.
type fetchSignerKey struct{}

type fetchSigner struct {
	keyID string
	key   crypto.PrivateKey
}

func (in *Instance) newClient(dial DialFunc) *http.Client {
	transport := &http.Transport{
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: fetchTimeout,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrFetch, maxRedirects)
			}
			if err := in.checkRemoteURL(req.URL); err != nil {
				return err
			}
			// The old signature names the old host and path: sign again.
			req.Header.Del("Signature")
			if s, ok := req.Context().Value(fetchSignerKey{}).(fetchSigner); ok {
				return signRequest(req, nil, s.keyID, s.key, in.now())
			}
			return nil
		},
	}
}

// checkRemoteURL accepts https URLs, and http ones only when the instance
// itself runs over http (development and tests).
func (in *Instance) checkRemoteURL(u *url.URL) error {
	switch {
	case u.Scheme != "https" && !(u.Scheme == "http" && in.protocol == "http"):
		return fmt.Errorf("%w: scheme of %s is not https", ErrFetch, u.Redacted())
	case u.Host == "" || u.User != nil:
		return fmt.Errorf("%w: %s is not a plain host URL", ErrFetch, u.Redacted())
	case in.isOwnHost(u):
		// We never need to fetch from ourselves, and a remote document
		// naming one of our own proxy URLs would make us fetch for ever.
		return fmt.Errorf("%w: %s is on this instance", ErrFetch, u.Redacted())
	}
	return nil
}

// isOwnHost reports whether u names this instance's host (with or
// without the scheme's default port, or a trailing dot).
func (in *Instance) isOwnHost(u *url.URL) bool {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return host == in.domain
}

// instanceSigner returns the instance actor's signing key.
func (in *Instance) instanceSigner() (fetchSigner, error) {
	in.keys.instanceOnce.Do(func() {
		var pemKey string
		err := in.store.View(func(tx *storage.Tx) error {
			a, err := tx.AccountByURI(in.InstanceActorURI())
			if err != nil {
				return err
			}
			pemKey, err = tx.PrivateKey(a.ID)
			return err
		})
		if err != nil {
			in.keys.instanceErr = err
			return
		}
		key, err := parsePrivateKeyPEM(pemKey)
		in.keys.instance = fetchSigner{keyID: in.InstanceActorURI() + fragmentMainKey, key: key}
		in.keys.instanceErr = err
	})
	return in.keys.instance, in.keys.instanceErr
}

// keyCache holds parsed keys we sign with, and when each remote key was
// last fetched again after a failed verification.
type keyCache struct {
	instanceOnce sync.Once
	instance     fetchSigner
	instanceErr  error

	mu        sync.Mutex
	refetched map[string]time.Time
}

// keyRefetchInterval is how often one key id may be fetched again because
// a signature failed to verify: a rotated key is picked up, but junk
// requests naming someone's key cannot make us hammer their server.
const keyRefetchInterval = 5 * time.Minute

// mayRefetchKey reports whether keyID may be fetched again now, and
// records it when so.
func (in *Instance) mayRefetchKey(keyID string) bool {
	k := &in.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	now := in.now()
	if last, ok := k.refetched[keyID]; ok && now.Sub(last) < keyRefetchInterval {
		return false
	}
	if k.refetched == nil || len(k.refetched) > 10000 {
		k.refetched = map[string]time.Time{}
	}
	k.refetched[keyID] = now
	return true
}

// fetchObject GETs an ActivityPub document signed as the instance actor.
// It enforces the size, time and redirect limits, the content type, and
// that the document's id is on the host it finally came from. It returns
// the decoded document and its raw bytes.
func (in *Instance) fetchObject(ctx context.Context, rawURL string) (map[string]any, []byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %q is not a URL", ErrFetch, rawURL)
	}
	u.Fragment = ""
	if err := in.checkRemoteURL(u); err != nil {
		return nil, nil, err
	}
	signer, err := in.instanceSigner()
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, fetchSignerKey{}, signer), fetchTimeout+5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req.Header.Set("Accept", acceptActivity)
	req.Header.Set("User-Agent", in.agent)
	if err := signRequest(req, nil, signer.keyID, signer.key, in.now()); err != nil {
		return nil, nil, err
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: GET %s: %w", ErrFetch, u.Redacted(), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusGone:
		return nil, nil, fmt.Errorf("GET %s: %w", u.Redacted(), ErrGone)
	case resp.StatusCode != http.StatusOK:
		return nil, nil, fmt.Errorf("%w: GET %s: status %d", ErrFetch, u.Redacted(), resp.StatusCode)
	}
	if !isActivityContentType(resp.Header.Get("Content-Type")) {
		return nil, nil, fmt.Errorf("%w: GET %s: content type %q", ErrFetch, u.Redacted(), resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: GET %s: %w", ErrFetch, u.Redacted(), err)
	}
	if len(body) > maxDocumentBytes {
		return nil, nil, fmt.Errorf("%w: GET %s: larger than %d bytes", ErrFetch, u.Redacted(), maxDocumentBytes)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("%w: GET %s: %w", ErrFetch, u.Redacted(), err)
	}
	id, err := url.Parse(stringProp(doc, "id"))
	if err != nil || id.Host == "" {
		return nil, nil, fmt.Errorf("%w: GET %s: document has no valid id", ErrFetch, u.Redacted())
	}
	if !strings.EqualFold(id.Host, resp.Request.URL.Host) {
		return nil, nil, fmt.Errorf("%w: GET %s: document id %s is on another host", ErrFetch, u.Redacted(), id.Redacted())
	}
	return doc, body, nil
}

// isActivityContentType accepts application/activity+json and
// application/ld+json (Mastodon requires the profile; some peers omit it).
func isActivityContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/activity+json" || mt == "application/ld+json")
}

// stringProp returns a string property, or the id of an object property,
// or the first of an array; "" when absent.
func stringProp(m map[string]any, name string) string {
	return stringOf(m[name])
}

func stringOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if id, ok := v["id"].(string); ok {
			return id
		}
		if href, ok := v["href"].(string); ok {
			return href
		}
	case []any:
		if len(v) > 0 {
			return stringOf(v[0])
		}
	}
	return ""
}
