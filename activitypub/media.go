package activitypub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// Media limits, as Mastodon's defaults.
const (
	defaultMaxAttachments = 4
	maxDescriptionChars   = 1500
	maxRemoteAttachments  = 16
	defaultMaxRemoteBytes = 40 << 20
	remoteFileTimeout     = 60 * time.Second
)

// mediaExtensions maps the MIME types we store and serve to the file
// extension in their URLs. The extension decides the Content-Type a file
// is served with, so only media types appear here: never HTML or SVG.
var mediaExtensions = map[string]string{
	"image/jpeg":      ".jpg",
	"image/png":       ".png",
	"image/gif":       ".gif",
	"image/webp":      ".webp",
	"video/mp4":       ".mp4",
	"video/webm":      ".webm",
	"video/ogg":       ".ogv",
	"video/quicktime": ".mov",
	"audio/mpeg":      ".mp3",
	"audio/ogg":       ".ogg",
	"audio/wave":      ".wav",
	"audio/flac":      ".flac",
	"audio/aac":       ".aac",
	"audio/mp4":       ".m4a",
	"audio/webm":      ".weba",
}

// settingProxyKey holds the key that makes proxy URLs of remote
// attachments unguessable.
const settingProxyKey = "media_proxy_key"

// ensureProxyKey loads the proxy URL key, making it on the first start.
func (in *Instance) ensureProxyKey(ctx context.Context) error {
	values, err := in.secrets(ctx, []string{settingProxyKey}, func() ([]string, error) {
		key := make([]byte, 32)
		_, err := rand.Read(key)
		return []string{hex.EncodeToString(key)}, err
	})
	if err != nil {
		return err
	}
	key, err := hex.DecodeString(values[0])
	if err != nil || len(key) != 32 {
		return fmt.Errorf("setting %s is not a 32-byte hex key: %w", settingProxyKey, storage.ErrCorrupt)
	}
	in.proxyKey = key
	return nil
}

// MediaToken is the part of a remote attachment's proxy URL that cannot be
// guessed from its ID: attachments of followers-only and direct posts
// cannot be found by counting IDs.
func (in *Instance) MediaToken(id storage.ID) string {
	mac := hmac.New(sha256.New, in.proxyKey)
	mac.Write(id.Key())
	return hex.EncodeToString(mac.Sum(nil)[:12])
}

// ValidMediaToken reports whether token is id's MediaToken.
func (in *Instance) ValidMediaToken(id storage.ID, token string) bool {
	return hmac.Equal([]byte(token), []byte(in.MediaToken(id)))
}

// MaxAttachments is how many files a local post may carry.
func (in *Instance) MaxAttachments() int { return in.maxAttachments }

// MediaURL is the address a stored file is served at: content-addressed,
// so it never changes and may be cached for ever.
func (in *Instance) MediaURL(hash, mime string) string {
	ext, ok := mediaExtensions[mime]
	if !ok {
		ext = ".bin"
	}
	return in.BaseURL() + "/media/" + hash + ext
}

// MediaMIME returns the type a file served under ext (".jpg") has, and
// whether ext is one we serve.
func MediaMIME(ext string) (string, bool) {
	for mime, e := range mediaExtensions {
		if e == ext {
			return mime, true
		}
	}
	return "", false
}

// ServableMIME reports whether content sniffed as mime may be served from
// this origin. Remote files of any other type are refused.
func ServableMIME(mime string) bool {
	_, ok := mediaExtensions[mime]
	return ok
}

// attachmentObject renders a local attachment as Mastodon and GoToSocial
// expect it: a Document (Image for pictures) with its alt text, blurhash,
// focal point and size.
func (in *Instance) attachmentObject(m *storage.Media) map[string]any {
	typ := "Document"
	if m.Type == "image" {
		typ = "Image"
	}
	doc := map[string]any{
		"type":      typ,
		"mediaType": m.MIME,
		"url":       in.MediaURL(m.File, m.MIME),
		"name":      nil,
	}
	if m.Description != "" {
		doc["name"] = m.Description
	}
	if m.Blurhash != "" {
		doc["blurhash"] = m.Blurhash
	}
	if m.Width > 0 && m.Height > 0 {
		doc["width"], doc["height"] = m.Width, m.Height
	}
	if m.Type == "image" || m.Type == "video" {
		doc["focalPoint"] = []float64{m.FocusX, m.FocusY}
	}
	return doc
}

// parseAttachments reads a remote Note's attachments into media records
// without IDs; their files stay remote until a client asks for them.
func parseAttachments(object map[string]any, author storage.ID, at time.Time) []storage.Media {
	var out []storage.Media
	for _, a := range asList(object["attachment"]) {
		m, ok := a.(map[string]any)
		if !ok || len(out) == maxRemoteAttachments {
			continue
		}
		link := httpURL(stringProp(m, "url"))
		if link == "" {
			if links, ok := m["url"].([]any); ok && len(links) > 0 {
				if l, ok := links[0].(map[string]any); ok {
					link = httpURL(stringProp(l, "href"))
				}
			}
		}
		if link == "" {
			continue
		}
		mime := truncate(stringProp(m, "mediaType"), 100)
		rec := storage.Media{AccountID: author, Type: storage.MediaTypeOf(mime), MIME: mime, RemoteURL: link,
			Description: truncate(stringProp(m, "name"), maxDescriptionChars),
			Blurhash:    truncate(stringProp(m, "blurhash"), 100), CreatedAt: at}
		if w, ok := m["width"].(float64); ok && w > 0 && w < 1e5 {
			rec.Width = int(w)
		}
		if h, ok := m["height"].(float64); ok && h > 0 && h < 1e5 {
			rec.Height = int(h)
		}
		if fp, ok := m["focalPoint"].([]any); ok && len(fp) == 2 {
			x, _ := fp[0].(float64)
			y, _ := fp[1].(float64)
			rec.FocusX, rec.FocusY = clampFocus(x), clampFocus(y)
		}
		out = append(out, rec)
	}
	return out
}

func clampFocus(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Max(-1, math.Min(1, v))
}

// storeAttachments writes parsed remote attachments for status s, with the
// IDs allocated for them, and records their IDs on s.
func storeAttachments(tx *storage.Tx, s *storage.Status, media []storage.Media, ids []storage.ID) error {
	s.MediaIDs = nil
	for i := range media {
		if i >= len(ids) {
			break
		}
		m := media[i]
		m.ID, m.StatusID = ids[i], s.ID
		if err := tx.PutMedia(&m); err != nil {
			return err
		}
		s.MediaIDs = append(s.MediaIDs, m.ID)
	}
	return nil
}

// newIDs allocates n IDs before a transaction.
func (in *Instance) newIDs(n int) []storage.ID {
	ids := make([]storage.ID, n)
	for i := range ids {
		ids[i] = in.store.NewID()
	}
	return ids
}

// checkAttachable loads the uploads a local post wants to attach: each
// must be the author's own, finished and not on another status (the edit
// of status keep may keep its own).
func (in *Instance) checkAttachable(author *storage.Account, ids []storage.ID, keep storage.ID) ([]*storage.Media, error) {
	var unique []storage.ID // a file named twice is attached once, as Mastodon does
	for _, id := range ids {
		if !slices.Contains(unique, id) {
			unique = append(unique, id)
		}
	}
	ids = unique
	if len(ids) > in.maxAttachments {
		return nil, &InvalidError{"media_ids", fmt.Sprintf("can hold at most %d files", in.maxAttachments)}
	}
	var out []*storage.Media
	err := in.store.View(func(tx *storage.Tx) error {
		for _, id := range ids {
			m, err := tx.Media(id)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				return &InvalidError{"media_ids", fmt.Sprintf("%s is not a known upload", id)}
			case err != nil:
				return err
			case m.AccountID != author.ID || m.Use != "" || !m.Local():
				return &InvalidError{"media_ids", fmt.Sprintf("%s is not a known upload", id)}
			case m.StatusID != 0 && m.StatusID != keep:
				return &InvalidError{"media_ids", fmt.Sprintf("%s is attached to another post", id)}
			case m.Processing:
				return &InvalidError{"media_ids", "cannot attach files that have not finished processing; try again in a moment"}
			case m.Failed != "":
				return &InvalidError{"media_ids", fmt.Sprintf("%s could not be processed", id)}
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// attach marks uploads as belonging to status id inside its transaction;
// an upload claimed by another post meanwhile fails the transaction. An
// edit (edited) also stores the alt text and focus it rendered with.
func attach(tx *storage.Tx, id storage.ID, media []*storage.Media, edited bool) error {
	for _, m := range media {
		current, err := tx.Media(m.ID)
		if err != nil {
			return err
		}
		if current.StatusID != 0 && current.StatusID != id {
			return &InvalidError{"media_ids", fmt.Sprintf("%s is attached to another post", m.ID)}
		}
		current.StatusID = id
		if edited {
			current.Description, current.FocusX, current.FocusY = m.Description, m.FocusX, m.FocusY
		}
		if err := tx.PutMedia(current); err != nil {
			return err
		}
	}
	return nil
}

// ErrNotMedia is returned for a remote file that is not an image, video or
// sound we serve.
var ErrNotMedia = errors.New("not a media file we serve")

// ProxyHeader marks this instance's own fetches of remote files: a proxy
// request that carries it came back to us through a redirect and is
// refused, so no chain of URLs can make the instance fetch from itself.
const ProxyHeader = "X-Rhizome-File-Fetch"

// fileFetches lets one fetch per URL run at a time; the others wait for
// its result.
type fileFetches struct {
	mu      sync.Mutex
	running map[string]*fileFetch
	failed  map[string]time.Time // URL → when a fetch of it last failed
	slots   chan struct{}        // bounds fetches of different URLs at once
}

// maxFileFetches is how many remote files are fetched at once; more
// requests wait (or give up with their client).
const maxFileFetches = 8

// Failed fetches are not tried again for failedFetchTTL, so requests for
// a broken or hostile URL cost its host nothing; at most maxFailedFetches
// are remembered.
const (
	failedFetchTTL   = 10 * time.Minute
	maxFailedFetches = 10000
)

type fileFetch struct {
	done chan struct{}
	file *storage.RemoteFile
	err  error
}

// RemoteFile returns the cached copy of a remote file (an attachment,
// avatar or header), fetching it first when it is not cached: through the
// SSRF-guarded client, within the size limit, and only when its content
// is an image, video or sound. Concurrent requests for one URL share one
// fetch.
func (in *Instance) RemoteFile(ctx context.Context, rawURL string) (*storage.RemoteFile, error) {
	ff := &in.fileFetches
	ff.mu.Lock()
	if at, ok := ff.failed[rawURL]; ok && in.now().Sub(at) < failedFetchTTL {
		ff.mu.Unlock()
		return nil, fmt.Errorf("%w: %s failed lately; not tried again yet", ErrFetch, rawURL)
	}
	if f, ok := ff.running[rawURL]; ok {
		ff.mu.Unlock()
		select {
		case <-f.done:
			return f.file, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if ff.running == nil {
		ff.running = map[string]*fileFetch{}
	}
	if ff.slots == nil {
		ff.slots = make(chan struct{}, maxFileFetches)
	}
	slots := ff.slots
	f := &fileFetch{done: make(chan struct{})}
	ff.running[rawURL] = f
	ff.mu.Unlock()
	select {
	case slots <- struct{}{}:
		f.file, f.err = in.remoteFile(context.WithoutCancel(ctx), rawURL)
		<-slots
	case <-ctx.Done():
		f.err = ctx.Err() // not remembered as a failure of the URL
	}
	ff.mu.Lock()
	delete(ff.running, rawURL)
	if f.err != nil && !errors.Is(f.err, ctx.Err()) {
		if ff.failed == nil || len(ff.failed) >= maxFailedFetches {
			ff.failed = map[string]time.Time{}
		}
		ff.failed[rawURL] = in.now()
	}
	ff.mu.Unlock()
	close(f.done)
	return f.file, f.err
}

func (in *Instance) remoteFile(ctx context.Context, rawURL string) (*storage.RemoteFile, error) {
	var cached *storage.RemoteFile
	err := in.store.View(func(tx *storage.Tx) error {
		var err error
		cached, err = tx.RemoteFile(rawURL)
		return err
	})
	if err == nil {
		if _, statErr := in.store.Blobs().Stat(cached.Hash); statErr == nil {
			return cached, nil
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%w: %q is not a URL", ErrFetch, rawURL)
	}
	if err := in.checkRemoteURL(u); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, remoteFileTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req.Header.Set("User-Agent", in.agent)
	req.Header.Set(ProxyHeader, "1")
	// The same guarded transport and redirect checks, with the longer
	// deadline of a file (the client's own is an ActivityPub document's).
	client := *in.client
	client.Timeout = remoteFileTimeout
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrFetch, u.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: status %d", ErrFetch, u.Redacted(), resp.StatusCode)
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(resp.Body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrFetch, u.Redacted(), err)
	}
	head = head[:n]
	mime := in.sniff(head)
	if !ServableMIME(mime) {
		return nil, fmt.Errorf("%w: GET %s: %q", ErrNotMedia, u.Redacted(), mime)
	}
	// Download first, then store and record it in one hold of the blob
	// store: a collection never waits for the network.
	tmp, err := in.store.Blobs().TempFile()
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	n64, err := io.Copy(tmp, io.LimitReader(io.MultiReader(bytes.NewReader(head), resp.Body), in.maxRemoteBytes+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: GET %s: %w", ErrFetch, u.Redacted(), err)
	case n64 > in.maxRemoteBytes:
		return nil, fmt.Errorf("%w: GET %s: larger than %d bytes", ErrFetch, u.Redacted(), in.maxRemoteBytes)
	}
	var f *storage.RemoteFile
	err = in.store.HoldBlobs(func() error {
		blob, err := in.store.Blobs().PutFile(tmp.Name())
		if err != nil {
			return err
		}
		f = &storage.RemoteFile{Hash: blob.Hash, MIME: mime, Size: blob.Size, FetchedAt: in.now().UTC()}
		return in.store.Batch(context.WithoutCancel(ctx), func(tx *storage.Tx) error { return tx.PutRemoteFile(rawURL, f) })
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// PruneRemoteFiles drops cached remote files fetched before cutoff and
// removes their files from disk; they are fetched again when next asked
// for. progress, if not nil, hears the
// running count after each batch.
func (in *Instance) PruneRemoteFiles(ctx context.Context, cutoff time.Time, progress func(done int)) (int, error) {
	const batch = 200
	done := 0
	from := ""
	for {
		var urls []string
		if err := in.store.View(func(tx *storage.Tx) error {
			var err error
			urls, err = tx.RemoteFilesBefore(cutoff, from, batch)
			return err
		}); err != nil {
			return done, err
		}
		if len(urls) == 0 {
			// Free the disk now; what another record still holds stays.
			_, err := in.store.CollectBlobs(ctx, 0)
			return done, err
		}
		if err := in.store.Update(ctx, func(tx *storage.Tx) error {
			for _, u := range urls {
				if err := tx.DropRemoteFile(u); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return done, err
		}
		done += len(urls)
		from = urls[len(urls)-1]
		if progress != nil {
			progress(done)
		}
	}
}

// sameAttachments reports whether an edit left a remote status's
// attachments as they were.
func sameAttachments(old []*storage.Media, fresh []storage.Media) bool {
	if len(old) != len(fresh) {
		return false
	}
	for i, m := range old {
		f := fresh[i]
		if m.RemoteURL != f.RemoteURL || m.Description != f.Description || m.FocusX != f.FocusX || m.FocusY != f.FocusY {
			return false
		}
	}
	return true
}
