package storage

import (
	"fmt"
	"time"
)

// Marker is where a user stopped reading a timeline.
type Marker struct {
	LastReadID ID        `json:"last_read_id"`
	Version    int64     `json:"version"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Markers returns an account's markers by timeline ("home",
// "notifications"); none stored is an empty map.
func (tx *Tx) Markers(account ID) (map[string]Marker, error) {
	b, err := tx.bucket(bucketMarkers)
	if err != nil {
		return nil, err
	}
	m := map[string]Marker{}
	if err := getJSON(b, account.Key(), &m); err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("markers of %s: %w", account, err)
	}
	return m, nil
}

// PutMarkers stores an account's markers.
func (tx *Tx) PutMarkers(account ID, m map[string]Marker) error {
	b, err := tx.bucket(bucketMarkers)
	if err != nil {
		return err
	}
	return putJSON(b, account.Key(), m)
}
