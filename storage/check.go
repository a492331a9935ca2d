package storage

import (
	"bytes"
	"encoding/binary"
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
	return checkMedia(tx)
}

// checkMedia verifies that blob reference counts equal the references the
// media records and cached remote files hold, and that the processing
// index lists exactly the uploads waiting for processing.
func checkMedia(tx *Tx) error {
	want := map[string]uint64{}
	waiting := map[ID]bool{}
	unattached := map[ID]bool{}
	media, err := tx.bucket(bucketMedia)
	if err != nil {
		return err
	}
	if err := media.ForEach(func(k, v []byte) error {
		var m Media
		if err := decodeJSON(v, &m); err != nil {
			return fmt.Errorf("media %x: %w", k, err)
		}
		for _, h := range m.blobs() {
			want[h]++
		}
		if m.Processing {
			waiting[m.ID] = true
		}
		if m.unattached() {
			unattached[m.ID] = true
		}
		return nil
	}); err != nil {
		return err
	}
	remote, err := tx.bucket(bucketRemoteFiles)
	if err != nil {
		return err
	}
	if err := remote.ForEach(func(k, v []byte) error {
		var f RemoteFile
		if err := decodeJSON(v, &f); err != nil {
			return fmt.Errorf("remote file %s: %w", k, err)
		}
		want[f.Hash]++
		return nil
	}); err != nil {
		return err
	}
	refs, err := tx.bucket(bucketBlobRefs)
	if err != nil {
		return err
	}
	if err := refs.ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("blob %s: reference count %x: %w", k, v, ErrCorrupt)
		}
		if got := binary.BigEndian.Uint64(v); got != want[string(k)] {
			return fmt.Errorf("blob %s: %d references counted, %d held: %w", k, got, want[string(k)], ErrCorrupt)
		}
		delete(want, string(k))
		return nil
	}); err != nil {
		return err
	}
	for h, n := range want {
		return fmt.Errorf("blob %s: held %d times but not counted: %w", h, n, ErrCorrupt)
	}
	processing, err := tx.bucket(bucketMediaProcessing)
	if err != nil {
		return err
	}
	if err := processing.ForEach(func(k, _ []byte) error {
		if !waiting[idFromKey(k)] {
			return fmt.Errorf("index %s: %x is not waiting: %w", bucketMediaProcessing, k, ErrCorrupt)
		}
		delete(waiting, idFromKey(k))
		return nil
	}); err != nil {
		return err
	}
	for id := range waiting {
		return fmt.Errorf("media %s waits for processing but is not indexed: %w", id, ErrCorrupt)
	}
	index, err := tx.bucket(bucketMediaUnattached)
	if err != nil {
		return err
	}
	if n := index.Stats().KeyN; n != len(unattached) {
		return fmt.Errorf("%d unattached uploads but %d index entries: %w", len(unattached), n, ErrCorrupt)
	}
	return index.ForEach(func(k, _ []byte) error {
		if !unattached[idFromKey(k)] {
			return fmt.Errorf("index %s: %x is attached or gone: %w", bucketMediaUnattached, k, ErrCorrupt)
		}
		return nil
	})
}
