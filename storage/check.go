package storage

import (
	"bytes"
	"fmt"
)

// checkIndexes verifies that every index entry points at a record whose
// indexed field matches, and that counters agree with the records.
func checkIndexes(tx *Tx) error {
	byURI, err := tx.bucket(bucketAccountsByURI)
	if err != nil {
		return err
	}
	if err := byURI.ForEach(func(k, v []byte) error {
		a, err := tx.Account(idFromKey(v))
		if err != nil {
			return fmt.Errorf("index %s → %x: %w", bucketAccountsByURI, v, err)
		}
		if a.URI != string(k) {
			return fmt.Errorf("index %s: %s points at %s: %w", bucketAccountsByURI, k, a.URI, ErrCorrupt)
		}
		return nil
	}); err != nil {
		return err
	}
	byAcct, err := tx.bucket(bucketAccountsByAcc)
	if err != nil {
		return err
	}
	if err := byAcct.ForEach(func(k, v []byte) error {
		a, err := tx.Account(idFromKey(v))
		if err != nil {
			return fmt.Errorf("index %s → %x: %w", bucketAccountsByAcc, v, err)
		}
		if !bytes.Equal(acctKey(a.Username, a.Domain), k) {
			return fmt.Errorf("index %s: %s points at %s@%s: %w", bucketAccountsByAcc, k, a.Username, a.Domain, ErrCorrupt)
		}
		return nil
	}); err != nil {
		return err
	}
	byKey, err := tx.bucket(bucketAccountsByKey)
	if err != nil {
		return err
	}
	if err := byKey.ForEach(func(k, v []byte) error {
		a, err := tx.Account(idFromKey(v))
		if err != nil {
			return fmt.Errorf("index %s → %x: %w", bucketAccountsByKey, v, err)
		}
		if a.PublicKeyID != string(k) {
			return fmt.Errorf("index %s: %s points at an account with key %s: %w", bucketAccountsByKey, k, a.PublicKeyID, ErrCorrupt)
		}
		return nil
	}); err != nil {
		return err
	}
	accounts, err := tx.bucket(bucketAccounts)
	if err != nil {
		return err
	}
	if n, m := accounts.Stats().KeyN, byURI.Stats().KeyN; n != m {
		return fmt.Errorf("%d accounts but %d URI index entries: %w", n, m, ErrCorrupt)
	}
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	count, err := tx.Counter(CounterLocalUsers)
	if err != nil {
		return err
	}
	if n := int64(users.Stats().KeyN); n != count {
		return fmt.Errorf("%d users but counter %s is %d: %w", n, CounterLocalUsers, count, ErrCorrupt)
	}
	return nil
}
