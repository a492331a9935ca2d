package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/rhizome-fed/rhizome/storage/blobs"
)

// Options configures Open. The zero value is usable.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the
	// file. Zero means one second; bbolt's own zero would wait forever.
	LockTimeout time.Duration
	// Now is the clock used for IDs. Nil means time.Now.
	Now func() time.Time
	// BatchDelay is how long Batch waits for other writers to join a
	// group commit. Zero means 2 ms: about one fsync here, so a lone
	// writer waits little and concurrent ones still share commits.
	BatchDelay time.Duration
	// MediaDir is where media files are kept. "" means a "media" folder
	// beside the database file.
	MediaDir string

	// migrations replaces the schema history in tests.
	migrations []migration
}

// Store is an open Rhizome database. It is safe for concurrent use.
type Store struct {
	db         *bolt.DB
	ids        idGenerator
	migrations []migration
	blobs      *blobs.Store
	blobMu     sync.RWMutex // HoldBlobs readers, CollectBlobs writer
	watcher    atomic.Pointer[func(Change)]
}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date. It fails with ErrLocked when another process holds the
// file and ErrSchemaTooNew when a newer build wrote it.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.migrations == nil {
		opts.migrations = schema
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if opts.BatchDelay == 0 {
		opts.BatchDelay = 2 * time.Millisecond
	}
	// Set once, before any use; never changed afterwards.
	db.MaxBatchDelay = opts.BatchDelay
	s := &Store{db: db, migrations: opts.migrations}
	s.ids.now = opts.Now
	if opts.MediaDir == "" {
		opts.MediaDir = filepath.Join(filepath.Dir(path), "media")
	}
	if s.blobs, err = blobs.Open(opts.MediaDir); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := s.raiseIDFloor(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// Close closes the file after in-flight transactions finish.
func (s *Store) Close() error { return s.db.Close() }

// Blobs returns the store of media files, named by content hash.
func (s *Store) Blobs() *blobs.Store { return s.blobs }

// Path returns the file's path.
func (s *Store) Path() string { return s.db.Path() }

// NewID returns a new time-ordered ID, unique within this store. Allocate
// IDs before a Batch, never inside it: a Batch function may run twice.
func (s *Store) NewID() ID { return s.ids.next() }

// Tx is a read or write transaction. It is valid only inside the function
// it was passed to.
type Tx struct {
	btx   *bolt.Tx
	store *Store
}

// OnCommit registers fn to run after the transaction commits. It never runs
// for a transaction that rolls back; use it for events and wake-ups.
func (tx *Tx) OnCommit(fn func()) { tx.btx.OnCommit(fn) }

func (tx *Tx) bucket(name []byte) (*bolt.Bucket, error) {
	if b := tx.btx.Bucket(name); b != nil {
		return b, nil
	}
	return nil, fmt.Errorf("bucket %q missing: %w", name, ErrCorrupt)
}

// View runs fn in a read transaction. Readers never block writers.
func (s *Store) View(fn func(tx *Tx) error) error {
	return s.db.View(func(btx *bolt.Tx) error { return fn(&Tx{btx: btx, store: s}) })
}

// Update runs fn in a write transaction of its own. Use it on single-writer
// paths (migrations, CLI, seeding); request paths use Batch.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(btx *bolt.Tx) error { return fn(&Tx{btx: btx, store: s}) })
}

// Batch runs fn in a write transaction shared with other concurrent
// callers, committed with one fsync. fn may run more than once, so it must
// only touch tx: allocate IDs before calling, send events with OnCommit.
// When Batch returns nil the write is durable.
func (s *Store) Batch(ctx context.Context, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Batch(func(btx *bolt.Tx) error { return fn(&Tx{btx: btx, store: s}) })
}

// Check verifies the file's page structure and that every index entry
// points at an existing record.
func (s *Store) Check() error {
	return s.db.View(func(btx *bolt.Tx) error {
		var errs []error
		for err := range btx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("%w: %w", ErrCorrupt, errors.Join(errs...))
		}
		return checkIndexes(&Tx{btx: btx})
	})
}

// raiseIDFloor keeps new IDs above every ID already stored.
func (s *Store) raiseIDFloor() error {
	return s.View(func(tx *Tx) error {
		for _, name := range idKeyedBuckets {
			b := tx.btx.Bucket(name)
			if b == nil { // only in tests with a partial schema history
				continue
			}
			if k, _ := b.Cursor().Last(); k != nil {
				s.ids.raise(idFromKey(k))
			}
		}
		return nil
	})
}
