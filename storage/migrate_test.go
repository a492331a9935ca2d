package storage

import (
	"errors"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestMigrate_freshFileReachesLatest(t *testing.T) {
	s := newTestStore(t)
	v, err := s.SchemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v != LatestSchemaVersion() {
		t.Fatalf("schema version %d, want %d", v, LatestSchemaVersion())
	}
}

// TestMigrate_countLocalUsers builds a file at schema 1 (before users were
// counted) holding two users, and checks that migration 2 backfills the
// counter.
func TestMigrate_countLocalUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rhizome.db")
	old, err := Open(path, Options{migrations: schema[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.db.Update(func(tx *bolt.Tx) error {
		users := tx.Bucket(bucketUsers)
		for _, id := range []ID{1 << seqBits, 2 << seqBits} {
			if err := putJSON(users, id.Key(), &User{AccountID: id}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if v, _ := old.SchemaVersion(); v != 1 {
		t.Fatalf("old file at schema %d, want 1", v)
	}
	old.Close()

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(); v != LatestSchemaVersion() {
		t.Fatalf("schema %d after migration, want %d", v, LatestSchemaVersion())
	}
	var n int64
	if err := s.View(func(tx *Tx) error { n, err = tx.Counter(CounterLocalUsers); return err }); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("local users counter = %d, want 2", n)
	}
}

func TestMigrate_eachRunsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rhizome.db")
	runs := 0
	history := []migration{{"count runs", func(tx *bolt.Tx) error { runs++; return nil }}}
	for range 3 {
		s, err := Open(path, Options{migrations: history})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	if runs != 1 {
		t.Fatalf("migration ran %d times over three opens, want 1", runs)
	}
}

func TestMigrate_failureRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rhizome.db")
	boom := errors.New("boom")
	history := []migration{
		{"create a bucket", func(tx *bolt.Tx) error { return createBuckets(tx, []byte("one")) }},
		{"half done then fails", func(tx *bolt.Tx) error {
			if err := createBuckets(tx, []byte("two")); err != nil {
				return err
			}
			return boom
		}},
	}
	if _, err := Open(path, Options{migrations: history}); !errors.Is(err, boom) {
		t.Fatalf("Open: got %v, want the migration's error", err)
	}
	// The file stays at version 1, without the failed migration's bucket.
	s, err := Open(path, Options{migrations: history[:1]})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(); v != 1 {
		t.Fatalf("schema %d after failed migration, want 1", v)
	}
	if err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("two")) != nil {
			return errors.New("bucket of the failed migration exists")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestMigrate_refusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rhizome.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(path, Options{migrations: schema[:1]})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("older build opening newer file: got %v, want ErrSchemaTooNew", err)
	}
}

// TestMigrate_indexKeys builds a file at schema 2 holding accounts with and
// without keys, and checks that migration 3 indexes them by key id.
func TestMigrate_indexKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rhizome.db")
	old, err := Open(path, Options{migrations: schema[:2]})
	if err != nil {
		t.Fatal(err)
	}
	withKey := testAccount(old, "alice", "b.test")
	withKey.PublicKeyID = withKey.URI + "#main-key"
	noKey := testAccount(old, "bob", "b.test")
	if err := old.db.Update(func(tx *bolt.Tx) error {
		// Written as schema 2 code did: record and URI/acct indexes only.
		for _, a := range []*Account{withKey, noKey} {
			if err := putJSON(tx.Bucket(bucketAccounts), a.ID.Key(), a); err != nil {
				return err
			}
			if err := tx.Bucket(bucketAccountsByURI).Put([]byte(a.URI), a.ID.Key()); err != nil {
				return err
			}
			if err := tx.Bucket(bucketAccountsByAcc).Put(acctKey(a.Username, a.Domain), a.ID.Key()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if err := s.View(func(tx *Tx) error {
		a, err := tx.AccountByKeyID(withKey.PublicKeyID)
		if err != nil {
			return err
		}
		if a.ID != withKey.ID {
			t.Errorf("key index found %s", a.Username)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
