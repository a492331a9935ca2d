package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newTestStore opens a store in a temporary folder and checks its
// consistency when the test ends.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "rhizome.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("consistency check: %v", err)
		}
		s.Close()
	})
	return s
}

func testAccount(s *Store, username, domain string) *Account {
	host := domain
	if host == "" {
		host = "local.test"
	}
	return &Account{
		ID:        s.NewID(),
		URI:       fmt.Sprintf("https://%s/users/%s", host, username),
		Username:  username,
		Domain:    domain,
		ActorType: "Person",
		CreatedAt: time.Now().UTC(),
	}
}

func TestOpen_secondProcessGetsErrLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rhizome.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// bbolt's flock is per open file description, so a second Open in the
	// same process contends exactly as a second process would.
	_, err = Open(path, Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
}

func TestBatch_concurrentWritersAllDurable(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	const writers = 32
	var wg sync.WaitGroup
	ids := make([]ID, writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := testAccount(s, fmt.Sprintf("user%d", i), "")
			ids[i] = a.ID
			errs[i] = s.Batch(ctx, func(tx *Tx) error { return tx.CreateAccount(a) })
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if err := s.View(func(tx *Tx) error {
		for _, id := range ids {
			if _, err := tx.Account(id); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestBatch_onCommitOnlyAfterCommit(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	committed := 0
	a := testAccount(s, "alice", "")
	if err := s.Batch(ctx, func(tx *Tx) error {
		tx.OnCommit(func() { committed++ })
		return tx.CreateAccount(a)
	}); err != nil {
		t.Fatal(err)
	}
	dup := testAccount(s, "alice", "")
	err := s.Batch(ctx, func(tx *Tx) error {
		tx.OnCommit(func() { committed++ })
		return tx.CreateAccount(dup)
	})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: got %v, want ErrExists", err)
	}
	if committed != 1 {
		t.Fatalf("OnCommit ran %d times, want 1 (only for the committed transaction)", committed)
	}
}

func TestBatch_canceledContextWritesNothing(t *testing.T) {
	s := newTestStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := testAccount(s, "alice", "")
	if err := s.Batch(ctx, func(tx *Tx) error { return tx.CreateAccount(a) }); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	err := s.View(func(tx *Tx) error { _, err := tx.Account(a.ID); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("account after canceled batch: %v, want ErrNotFound", err)
	}
}

// BenchmarkCreateAccount measures durable writes with one and with many
// concurrent writers (per GOMAXPROCS), through Update and through Batch.
func BenchmarkCreateAccount(b *testing.B) {
	for _, mode := range []string{"Update", "Batch"} {
		for _, writers := range []int{1, 32} {
			b.Run(fmt.Sprintf("mode=%s/writers=%d", mode, writers), func(b *testing.B) {
				s, err := Open(filepath.Join(b.TempDir(), "rhizome.db"), Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ctx := context.Background()
				write := s.Update
				if mode == "Batch" {
					write = s.Batch
				}
				var n atomic.Int64
				b.ReportAllocs()
				b.SetParallelism(writers)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						a := testAccount(s, fmt.Sprintf("u%d", n.Add(1)), "remote.test")
						if err := write(ctx, func(tx *Tx) error { return tx.CreateAccount(a) }); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// TestBatch_keysInCreationOrder writes accounts through Batch from several
// goroutines and checks that a cursor returns each goroutine's accounts in
// the order it created them: IDs allocated first keep their order on disk.
func TestBatch_keysInCreationOrder(t *testing.T) {
	s := newTestStore(t)
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				a := testAccount(s, fmt.Sprintf("w%d_%03d", w, i), "")
				if err := s.Batch(t.Context(), func(tx *Tx) error { return tx.CreateAccount(a) }); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	last := map[string]string{}
	var prev ID
	err := s.View(func(tx *Tx) error {
		b, err := tx.bucket(bucketAccounts)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var a Account
			if err := decodeJSON(v, &a); err != nil {
				return err
			}
			if a.ID <= prev {
				t.Errorf("cursor order: %d after %d", a.ID, prev)
			}
			prev = a.ID
			writer := a.Username[:2]
			if a.Username <= last[writer] {
				t.Errorf("%s stored after %s", a.Username, last[writer])
			}
			last[writer] = a.Username
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != writers {
		t.Fatalf("saw %d writers", len(last))
	}
}
