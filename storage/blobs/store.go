package blobs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

const (
	tmpDir     = "tmp"
	staleAfter = time.Hour // temp files older than this are crash leftovers
	hashLen    = 2 * sha256.Size
)

// Store is a folder of content-addressed files. Its methods are safe for
// concurrent use, also by several processes sharing the folder.
type Store struct {
	dir string // absolute
	tmp string // dir/tmp
}

// Blob names one stored file.
type Blob struct {
	Hash    string    // lower-case hex SHA-256 of the content
	Size    int64     // bytes
	ModTime time.Time // when last written or re-put; set by Stat only
}

// Open uses dir as a store, creating it (mode 0700) and its tmp folder if
// missing, and removes temp files older than an hour, left by a crash.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open blob store: no folder given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	s := &Store{dir: abs, tmp: filepath.Join(abs, tmpDir)}
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	if err := s.removeStale(time.Now().Add(-staleAfter)); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return s, nil
}

// removeStale deletes regular files in tmp/ last modified before cutoff.
func (s *Store) removeStale(cutoff time.Time) error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue // gone already, or still in use
		}
		if err := os.Remove(filepath.Join(s.tmp, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Put streams r into the store and returns the blob's hash and size. With
// max > 0, content longer than max bytes gives ErrTooLarge and stores
// nothing (r is read up to max+1 bytes); max <= 0 sets no limit. When the
// content is already stored, Put keeps the existing file and refreshes its
// modification time.
func (s *Store) Put(r io.Reader, max int64) (Blob, error) {
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	b, err := s.write(f, r, max)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	if err := s.commit(f.Name(), b); err != nil {
		os.Remove(f.Name())
		return Blob{}, fmt.Errorf("put blob %s: %w", b.Hash, err)
	}
	return b, nil
}

// write copies r into f, hashing it, then syncs and closes f.
func (s *Store) write(f *os.File, r io.Reader, max int64) (Blob, error) {
	h := sha256.New()
	src := r
	if max > 0 {
		src = io.LimitReader(r, max+1)
	}
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err != nil {
		return Blob{}, err
	}
	if max > 0 && n > max {
		return Blob{}, fmt.Errorf("more than %d bytes: %w", max, ErrTooLarge)
	}
	if err := f.Sync(); err != nil {
		return Blob{}, err
	}
	if err := f.Close(); err != nil {
		return Blob{}, err
	}
	return Blob{Hash: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// commit moves the closed temp file into place, unless an intact copy is
// there already.
func (s *Store) commit(tmpName string, b Blob) error {
	dst := s.path(b.Hash)
	if info, err := os.Stat(dst); err == nil && info.Mode().IsRegular() && info.Size() == b.Size {
		now := time.Now()
		if err := os.Chtimes(dst, now, now); err == nil {
			return os.Remove(tmpName)
		}
		// Removed meanwhile: store ours.
	}
	if err := s.mkdirs(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.Rename(tmpName, dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// mkdirs creates the two shard folders of a blob path as needed, syncing
// the parent of each one it creates.
func (s *Store) mkdirs(shard string) error {
	for _, d := range []string{filepath.Dir(shard), shard} {
		err := os.Mkdir(d, 0o700)
		switch {
		case err == nil:
			if err := syncDir(filepath.Dir(d)); err != nil {
				return err
			}
		case !errors.Is(err, fs.ErrExist):
			return err
		}
	}
	return nil
}

// syncDir makes a folder's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return d.Close()
}

// PutFile stores a copy of the file at path, which is left in place.
func (s *Store) PutFile(path string) (Blob, error) {
	f, err := os.Open(path)
	if err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	defer f.Close()
	return s.Put(f, 0)
}

// TempFile creates a new file in the store's tmp folder, on the same
// filesystem as the blobs, e.g. for an upload being received. The caller
// closes and removes it; Open removes any left for over an hour.
func (s *Store) TempFile() (*os.File, error) {
	f, err := os.CreateTemp(s.tmp, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("blob temp file: %w", err)
	}
	return f, nil
}

// TempDir is the folder TempFile creates files in: on the store's file
// system, for work files that are moved or copied into it.
func (s *Store) TempDir() string { return s.tmp }

// Open opens a stored blob for reading. It returns ErrNotFound when no
// blob has that hash and ErrInvalidHash when hash is not 64 lower-case hex
// digits.
func (s *Store) Open(hash string) (*os.File, error) {
	if !validHash(hash) {
		return nil, fmt.Errorf("open blob %q: %w", hash, ErrInvalidHash)
	}
	f, err := os.Open(s.path(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open blob %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", hash, err)
	}
	return f, nil
}

// Stat returns a stored blob's size, with the same errors as Open.
func (s *Store) Stat(hash string) (Blob, error) {
	if !validHash(hash) {
		return Blob{}, fmt.Errorf("stat blob %q: %w", hash, ErrInvalidHash)
	}
	info, err := os.Stat(s.path(hash))
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !info.Mode().IsRegular()) {
		return Blob{}, fmt.Errorf("stat blob %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return Blob{}, fmt.Errorf("stat blob %s: %w", hash, err)
	}
	return Blob{Hash: hash, Size: info.Size(), ModTime: info.ModTime()}, nil
}

// Remove deletes a blob. Removing one that is not stored is not an error.
func (s *Store) Remove(hash string) error {
	if !validHash(hash) {
		return fmt.Errorf("remove blob %q: %w", hash, ErrInvalidHash)
	}
	if err := os.Remove(s.path(hash)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove blob %s: %w", hash, err)
	}
	return nil
}

// Walk calls fn for every stored blob, in hash order, with its
// modification time; temp files and anything else in the folder are
// skipped. An error from fn stops the walk and is returned, except
// fs.SkipAll, which stops it with no error. Blobs put or removed during the
// walk may or may not be seen.
func (s *Store) Walk(fn func(b Blob, modTime time.Time) error) error {
	err := s.walk(fn)
	if errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

func (s *Store) walk(fn func(Blob, time.Time) error) error {
	top, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("walk blobs: %w", err)
	}
	for _, e1 := range top {
		if !e1.IsDir() || !validShard(e1.Name()) {
			continue
		}
		dir1 := filepath.Join(s.dir, e1.Name())
		subs, err := os.ReadDir(dir1)
		if err != nil {
			return fmt.Errorf("walk blobs: %w", err)
		}
		for _, e2 := range subs {
			if !e2.IsDir() || !validShard(e2.Name()) {
				continue
			}
			files, err := os.ReadDir(filepath.Join(dir1, e2.Name()))
			if err != nil {
				return fmt.Errorf("walk blobs: %w", err)
			}
			prefix := e1.Name() + e2.Name()
			for _, f := range files {
				name := f.Name()
				if !f.Type().IsRegular() || !validHash(name) || name[:4] != prefix {
					continue
				}
				info, err := f.Info()
				if errors.Is(err, fs.ErrNotExist) {
					continue // removed meanwhile
				}
				if err != nil {
					return fmt.Errorf("walk blobs: %w", err)
				}
				if err := fn(Blob{Hash: name, Size: info.Size()}, info.ModTime()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// path is where a blob with a valid hash lives.
func (s *Store) path(hash string) string {
	return filepath.Join(s.dir, hash[:2], hash[2:4], hash)
}

func validHash(h string) bool {
	return len(h) == hashLen && isLowerHex(h)
}

func validShard(name string) bool {
	return len(name) == 2 && isLowerHex(name)
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
