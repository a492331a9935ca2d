package storage

import (
	"fmt"
	"time"
)

// Report is a complaint about accounts or statuses, sent by a remote
// instance (a Flag) for this instance's admins.
type Report struct {
	ID         ID        `json:"id"`
	URI        string    `json:"uri"`         // the Flag activity's id
	ReporterID ID        `json:"reporter_id"` // the actor that sent it
	TargetIDs  []ID      `json:"target_ids"`  // reported accounts
	StatusIDs  []ID      `json:"status_ids,omitempty"`
	Comment    string    `json:"comment,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// CreateReport stores a report; the same Flag stored twice is ErrExists.
func (tx *Tx) CreateReport(r *Report) error {
	reports, err := tx.bucket(bucketReports)
	if err != nil {
		return err
	}
	byURI, err := tx.bucket(bucketReportsByURI)
	if err != nil {
		return err
	}
	if r.URI != "" && byURI.Get([]byte(r.URI)) != nil {
		return fmt.Errorf("report %s: %w", r.URI, ErrExists)
	}
	if reports.Get(r.ID.Key()) != nil {
		return fmt.Errorf("report %s: %w", r.ID, ErrExists)
	}
	if err := putJSON(reports, r.ID.Key(), r); err != nil {
		return err
	}
	if r.URI != "" {
		return byURI.Put([]byte(r.URI), r.ID.Key())
	}
	return nil
}

// Reports returns up to limit reports, newest first.
func (tx *Tx) Reports(limit int) ([]*Report, error) {
	reports, err := tx.bucket(bucketReports)
	if err != nil {
		return nil, err
	}
	var out []*Report
	c := reports.Cursor()
	for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
		var r Report
		if err := decodeJSON(v, &r); err != nil {
			return nil, err
		}
		out = append(out, &r)
	}
	return out, nil
}
