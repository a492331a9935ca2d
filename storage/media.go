package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rhizome-fed/rhizome/storage/blobs"
)

// Media uses other than a status attachment.
const (
	MediaUseAvatar = "avatar"
	MediaUseHeader = "header"
)

// Media is an uploaded file (a local attachment, avatar or header) or a
// remote status's attachment. Local files live in the blob store, named
// by content hash; a remote attachment only records where it lives and is
// cached by URL on demand (see RemoteFile).
type Media struct {
	ID        ID     `json:"id"`
	AccountID ID     `json:"account_id"`          // uploader, or the remote author
	StatusID  ID     `json:"status_id,omitempty"` // 0 while unattached
	Use       string `json:"use,omitempty"`       // "" for an attachment, else MediaUseAvatar or MediaUseHeader

	Type string `json:"type"` // Mastodon's attachment type: image, gifv, video, audio, unknown
	MIME string `json:"mime"`

	File    string `json:"file,omitempty"`    // blob hash of the stored file
	Size    int64  `json:"size,omitempty"`    // bytes of File
	Preview string `json:"preview,omitempty"` // blob hash of the JPEG preview

	Width       int     `json:"width,omitempty"`
	Height      int     `json:"height,omitempty"`
	SmallWidth  int     `json:"small_width,omitempty"`
	SmallHeight int     `json:"small_height,omitempty"`
	Duration    float64 `json:"duration,omitempty"` // seconds
	Blurhash    string  `json:"blurhash,omitempty"`

	Description string  `json:"description,omitempty"` // alt text
	FocusX      float64 `json:"focus_x,omitempty"`     // -1..1, 0 is the centre
	FocusY      float64 `json:"focus_y,omitempty"`

	RemoteURL string `json:"remote_url,omitempty"` // a remote attachment's own address

	// Processing is set while an upload waits for processing; Upload is
	// the blob hash of the raw upload until then.
	Processing bool   `json:"processing,omitempty"`
	Upload     string `json:"upload,omitempty"`
	Failed     string `json:"failed,omitempty"`   // why processing failed
	Attempts   int    `json:"attempts,omitempty"` // processing attempts that failed for other reasons than the content

	// DetachedAt is when the post this upload was on was deleted: it
	// waits a day from then for a redraft.
	DetachedAt time.Time `json:"detached_at,omitzero"`

	CreatedAt time.Time `json:"created_at"`
}

// Local reports whether the file is stored here rather than remote.
func (m *Media) Local() bool { return m.RemoteURL == "" }

// unattached reports whether m is a local upload on no status (an
// avatar or header, or an attachment not yet posted).
func (m *Media) unattached() bool { return m.Local() && m.StatusID == 0 }

// blobs lists the blob hashes the record holds.
func (m *Media) blobs() []string {
	var out []string
	for _, h := range []string{m.File, m.Preview, m.Upload} {
		if h != "" {
			out = append(out, h)
		}
	}
	return out
}

// PutMedia creates or replaces a media record, keeping blob reference
// counts and the processing index in step with it. Blobs no longer
// referenced become garbage for CollectBlobs.
func (tx *Tx) PutMedia(m *Media) error {
	if m.ID == 0 {
		return fmt.Errorf("put media: no id")
	}
	media, err := tx.bucket(bucketMedia)
	if err != nil {
		return err
	}
	var old Media
	var oldBlobs []string
	if err := getJSON(media, m.ID.Key(), &old); err == nil {
		oldBlobs = old.blobs()
	} else if !isNotFound(err) {
		return err
	}
	for _, h := range m.blobs() {
		if err := tx.RefBlob(h); err != nil {
			return err
		}
	}
	for _, h := range oldBlobs {
		if err := tx.UnrefBlob(h); err != nil {
			return err
		}
	}
	if err := tx.setIndex(bucketMediaProcessing, m.ID.Key(), m.Processing); err != nil {
		return err
	}
	if err := tx.setIndex(bucketMediaUnattached, m.ID.Key(), m.unattached()); err != nil {
		return err
	}
	return putJSON(media, m.ID.Key(), m)
}

// Media returns a media record by ID.
func (tx *Tx) Media(id ID) (*Media, error) {
	media, err := tx.bucket(bucketMedia)
	if err != nil {
		return nil, err
	}
	var m Media
	if err := getJSON(media, id.Key(), &m); err != nil {
		return nil, fmt.Errorf("media %s: %w", id, err)
	}
	return &m, nil
}

// DeleteMedia removes a media record and releases its blobs (and, for a
// remote attachment, its cached copy); deleting an absent one is not an
// error.
func (tx *Tx) DeleteMedia(id ID) error {
	m, err := tx.Media(id)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, h := range m.blobs() {
		if err := tx.UnrefBlob(h); err != nil {
			return err
		}
	}
	if !m.Local() {
		// A deleted post's pictures do not linger in the cache.
		if err := tx.DropRemoteFile(m.RemoteURL); err != nil {
			return err
		}
	}
	if err := tx.setIndex(bucketMediaProcessing, id.Key(), false); err != nil {
		return err
	}
	if err := tx.setIndex(bucketMediaUnattached, id.Key(), false); err != nil {
		return err
	}
	media, err := tx.bucket(bucketMedia)
	if err != nil {
		return err
	}
	return media.Delete(id.Key())
}

// releaseMedia lets go of a deleted status's attachments. A local post's
// uploads are detached, not deleted, so "delete and redraft" can attach
// them again (unattached, they go with the next sweep of stale uploads);
// a remote post's attachments are deleted with their cached copies.
func (tx *Tx) releaseMedia(s *Status) error {
	for _, id := range s.MediaIDs {
		if !s.Local {
			if err := tx.DeleteMedia(id); err != nil {
				return err
			}
			continue
		}
		m, err := tx.Media(id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if m.StatusID == s.ID {
			m.StatusID, m.DetachedAt = 0, time.Now().UTC()
			if err := tx.PutMedia(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// StatusMedia returns a status's attachments in order, skipping any that
// are gone.
func (tx *Tx) StatusMedia(s *Status) ([]*Media, error) {
	out := make([]*Media, 0, len(s.MediaIDs))
	for _, id := range s.MediaIDs {
		m, err := tx.Media(id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// StaleUploads returns up to limit uploads made (and, for those of deleted
// posts, detached) before cutoff that nothing uses: attachments never
// posted or whose post was deleted, and avatars or headers their account
// does not show (a profile change that failed half-way).
func (tx *Tx) StaleUploads(cutoff time.Time, limit int) ([]ID, error) {
	index, err := tx.bucket(bucketMediaUnattached)
	if err != nil {
		return nil, err
	}
	end := IDAt(cutoff)
	var out []ID
	c := index.Cursor()
	for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
		id := idFromKey(k)
		if id >= end {
			break
		}
		m, err := tx.Media(id)
		if err != nil {
			return nil, err
		}
		if m.DetachedAt.After(cutoff) {
			continue // its post was deleted lately: kept for a redraft
		}
		unused, err := tx.UploadUnused(id)
		if err != nil {
			return nil, err
		}
		if unused {
			out = append(out, id)
		}
	}
	return out, nil
}

// UploadUnused reports whether a local upload is on no status and not
// shown as its account's avatar or header.
func (tx *Tx) UploadUnused(id ID) (bool, error) {
	m, err := tx.Media(id)
	if err != nil || !m.unattached() {
		return false, err
	}
	if m.Use == "" {
		return true, nil
	}
	a, err := tx.Account(m.AccountID)
	if isNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return a.AvatarMediaID != id && a.HeaderMediaID != id, nil
}

// ProcessingMedia returns the uploads waiting for processing, oldest
// first: a restart picks them up again.
func (tx *Tx) ProcessingMedia() ([]ID, error) {
	b, err := tx.bucket(bucketMediaProcessing)
	if err != nil {
		return nil, err
	}
	var out []ID
	err = b.ForEach(func(k, _ []byte) error {
		out = append(out, idFromKey(k))
		return nil
	})
	return out, err
}

// RefBlob counts one more record holding the blob hash.
func (tx *Tx) RefBlob(hash string) error {
	refs, err := tx.bucket(bucketBlobRefs)
	if err != nil {
		return err
	}
	garbage, err := tx.bucket(bucketBlobGarbage)
	if err != nil {
		return err
	}
	if err := garbage.Delete([]byte(hash)); err != nil {
		return err
	}
	var n uint64
	if v := refs.Get([]byte(hash)); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	return refs.Put([]byte(hash), binary.BigEndian.AppendUint64(nil, n+1))
}

// UnrefBlob counts one record fewer holding hash. When none is left the
// hash is marked as garbage, and CollectBlobs removes its file later.
func (tx *Tx) UnrefBlob(hash string) error {
	refs, err := tx.bucket(bucketBlobRefs)
	if err != nil {
		return err
	}
	var n uint64
	if v := refs.Get([]byte(hash)); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	if n > 1 {
		return refs.Put([]byte(hash), binary.BigEndian.AppendUint64(nil, n-1))
	}
	if err := refs.Delete([]byte(hash)); err != nil {
		return err
	}
	garbage, err := tx.bucket(bucketBlobGarbage)
	if err != nil {
		return err
	}
	return garbage.Put([]byte(hash), nil)
}

// HoldBlobs runs fn, which stores files in the blob store and commits the
// records that hold them: CollectBlobs waits meanwhile, so it cannot
// remove a file between its storing and its first reference. Keep fn
// short (no processing, no network): collection waits for it.
func (s *Store) HoldBlobs(fn func() error) error {
	s.blobMu.RLock()
	defer s.blobMu.RUnlock()
	return fn()
}

// collectBatch bounds the files one collection transaction removes, so
// writers never wait long behind it.
const collectBatch = 500

// CollectBlobs removes the files of blobs no record holds any more. It
// works inside write transactions, so no record can take a blob
// meanwhile, and waits for HoldBlobs callers, so no file just stored for
// a record about to commit goes. A blob re-put within grace stays until a
// later collection. It returns how many files it removed.
func (s *Store) CollectBlobs(ctx context.Context, grace time.Duration) (int, error) {
	total := 0
	var after []byte // garbage entries up to here were looked at
	for {
		// Hold the store one batch at a time, so uploads wait little.
		s.blobMu.Lock()
		removed, last, err := s.collectSome(ctx, grace, after)
		s.blobMu.Unlock()
		total += removed
		if err != nil || last == nil {
			return total, err
		}
		after = last
	}
}

// collectSome looks at up to collectBatch garbage entries after the key
// after; it returns the last key looked at, nil when none were left.
func (s *Store) collectSome(ctx context.Context, grace time.Duration, after []byte) (int, []byte, error) {
	removed := 0
	var last []byte
	err := s.Update(ctx, func(tx *Tx) error {
		removed, last = 0, nil
		garbage, err := tx.bucket(bucketBlobGarbage)
		if err != nil {
			return err
		}
		cutoff := time.Now().Add(-grace)
		var done [][]byte
		c := garbage.Cursor()
		k, _ := c.First()
		if after != nil {
			k, _ = c.Seek(after)
			if k != nil && string(k) == string(after) {
				k, _ = c.Next()
			}
		}
		for n := 0; k != nil && n < collectBatch; k, _ = c.Next() {
			n++
			last = append(last[:0], k...)
			hash := string(k)
			if refs, err := tx.BlobRefs(hash); err != nil {
				return err
			} else if refs > 0 {
				done = append(done, slices.Clone(k)) // taken again
				continue
			}
			b, err := s.blobs.Stat(hash)
			switch {
			case errors.Is(err, blobs.ErrNotFound), errors.Is(err, blobs.ErrInvalidHash):
				done = append(done, slices.Clone(k))
				continue
			case err != nil:
				return err
			case b.ModTime.After(cutoff):
				continue // re-put lately: a later collection decides
			}
			if err := s.blobs.Remove(hash); err != nil {
				return err
			}
			removed++
			done = append(done, slices.Clone(k))
		}
		for _, k := range done {
			if err := garbage.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return removed, last, err
}

// CollectOrphans removes stored files that no record holds and that no
// garbage entry names, older than grace: left by a crash between storing
// a file and committing its record. It walks the whole blob folder, so
// run it rarely.
func (s *Store) CollectOrphans(ctx context.Context, grace time.Duration) (int, error) {
	cutoff := time.Now().Add(-grace)
	var old []string
	if err := s.blobs.Walk(func(b blobs.Blob, mod time.Time) error {
		if mod.Before(cutoff) {
			old = append(old, b.Hash)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	removed := 0
	for len(old) > 0 {
		batch := old[:min(len(old), collectBatch)]
		old = old[len(batch):]
		// The walk ran without the hold; each file is looked at again
		// under it, one batch at a time.
		s.blobMu.Lock()
		err := s.Update(ctx, func(tx *Tx) error {
			for _, hash := range batch {
				if b, err := s.blobs.Stat(hash); err != nil || !b.ModTime.Before(cutoff) {
					continue // gone, or stored again since the walk
				}
				refs, err := tx.BlobRefs(hash)
				if err != nil {
					return err
				}
				garbage, err := tx.bucket(bucketBlobGarbage)
				if err != nil {
					return err
				}
				if refs > 0 || garbage.Get([]byte(hash)) != nil {
					continue // held, or CollectBlobs's to handle
				}
				if err := s.blobs.Remove(hash); err != nil {
					return err
				}
				removed++
			}
			return nil
		})
		s.blobMu.Unlock()
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// BlobRefs returns how many records hold hash.
func (tx *Tx) BlobRefs(hash string) (uint64, error) {
	refs, err := tx.bucket(bucketBlobRefs)
	if err != nil {
		return 0, err
	}
	if v := refs.Get([]byte(hash)); len(v) == 8 {
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, nil
}

// RemoteFile is a cached copy of a remote file (an attachment, avatar or
// header), kept by its URL. Dropping it only costs a refetch.
type RemoteFile struct {
	Hash      string    `json:"hash"`
	MIME      string    `json:"mime"`
	Size      int64     `json:"size"`
	FetchedAt time.Time `json:"fetched_at"`
}

// RemoteFile returns the cached copy of url, or ErrNotFound.
func (tx *Tx) RemoteFile(url string) (*RemoteFile, error) {
	b, err := tx.bucket(bucketRemoteFiles)
	if err != nil {
		return nil, err
	}
	var f RemoteFile
	if err := getJSON(b, []byte(url), &f); err != nil {
		return nil, fmt.Errorf("remote file %s: %w", url, err)
	}
	return &f, nil
}

// PutRemoteFile records the cached copy of url, replacing an older one.
func (tx *Tx) PutRemoteFile(url string, f *RemoteFile) error {
	if err := tx.DropRemoteFile(url); err != nil {
		return err
	}
	b, err := tx.bucket(bucketRemoteFiles)
	if err != nil {
		return err
	}
	if err := tx.RefBlob(f.Hash); err != nil {
		return err
	}
	return putJSON(b, []byte(url), f)
}

// DropRemoteFile forgets the cached copy of url, if any.
func (tx *Tx) DropRemoteFile(url string) error {
	old, err := tx.RemoteFile(url)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	b, err := tx.bucket(bucketRemoteFiles)
	if err != nil {
		return err
	}
	if err := b.Delete([]byte(url)); err != nil {
		return err
	}
	return tx.UnrefBlob(old.Hash)
}

// RemoteFilesBefore returns up to limit URLs of cached remote files
// fetched before cutoff, starting after the URL from ("" for the start).
func (tx *Tx) RemoteFilesBefore(cutoff time.Time, from string, limit int) ([]string, error) {
	b, err := tx.bucket(bucketRemoteFiles)
	if err != nil {
		return nil, err
	}
	var out []string
	c := b.Cursor()
	k, v := c.First()
	if from != "" {
		k, v = c.Seek([]byte(from))
		if k != nil && string(k) == from {
			k, v = c.Next()
		}
	}
	for ; k != nil && len(out) < limit; k, v = c.Next() {
		var f RemoteFile
		if err := decodeJSON(v, &f); err != nil {
			return nil, fmt.Errorf("remote file %s: %w", k, err)
		}
		if f.FetchedAt.Before(cutoff) {
			out = append(out, string(k))
		}
	}
	return out, nil
}

// setIndex adds or removes key in an index bucket whose values are empty.
func (tx *Tx) setIndex(bucket, key []byte, present bool) error {
	b, err := tx.bucket(bucket)
	if err != nil {
		return err
	}
	if present {
		return b.Put(key, nil)
	}
	return b.Delete(key)
}

// MediaTypeOf maps a MIME type to Mastodon's attachment type.
func MediaTypeOf(mime string) string {
	switch {
	case strings.HasPrefix(mime, "image/"): // GIFs too: we serve them as GIF files, not as looping video ("gifv")
		return "image"
	case strings.HasPrefix(mime, "video/"):
		return "video"
	case strings.HasPrefix(mime, "audio/"):
		return "audio"
	}
	return "unknown"
}
