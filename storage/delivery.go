package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
)

// Delivery is one activity to POST to one inbox. Deliveries wait in a
// bucket keyed by when they are next due, so the queue survives restarts
// and crashes: an acknowledged action's deliveries are written in the same
// transaction as the action.
type Delivery struct {
	ID          ID        `json:"id"`
	Due         time.Time `json:"due"`
	BodyID      ID        `json:"body_id"`   // the activity JSON, shared by the activity's deliveries
	Inbox       string    `json:"inbox"`     // target inbox URL
	SignerID    ID        `json:"signer_id"` // local account whose key signs
	Activity    string    `json:"activity"`  // activity id, for logs
	Attempt     int       `json:"attempt"`   // attempts made so far
	FirstQueued time.Time `json:"first_queued"`
	LastError   string    `json:"last_error,omitempty"`
	// Push is set when this delivery is a Web Push notification rather
	// than an activity: Inbox is then the push endpoint and the body the
	// notification's plaintext payload, encrypted when sent.
	Push *PushJob `json:"push,omitempty"`
}

// PushJob says which subscription a push delivery is for.
type PushJob struct {
	AccountID      ID     `json:"account_id"`
	TokenHash      []byte `json:"token_hash"`
	NotificationID ID     `json:"notification_id"`
}

func deliveryKey(due time.Time, id ID) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(max(0, due.UnixMilli())))
	return binary.BigEndian.AppendUint64(k, uint64(id))
}

// EnqueueDeliveries stores an activity's body once and one delivery per
// inbox. Each delivery must have its ID set; Due defaults to now.
func (tx *Tx) EnqueueDeliveries(bodyID ID, body []byte, deliveries []Delivery) error {
	if len(deliveries) == 0 {
		return nil
	}
	bodies, err := tx.bucket(bucketDeliveryBody)
	if err != nil {
		return err
	}
	queue, err := tx.bucket(bucketDeliveries)
	if err != nil {
		return err
	}
	if bodies.Get(bodyID.Key()) != nil {
		return fmt.Errorf("delivery body %s: %w", bodyID, ErrExists)
	}
	value := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(body)), uint32(len(deliveries)))
	if err := bodies.Put(bodyID.Key(), append(value, body...)); err != nil {
		return err
	}
	for i := range deliveries {
		d := &deliveries[i]
		if d.ID == 0 {
			return fmt.Errorf("enqueue delivery to %s: no id", d.Inbox)
		}
		d.BodyID = bodyID
		if err := putJSON(queue, deliveryKey(d.Due, d.ID), d); err != nil {
			return err
		}
	}
	return nil
}

// DueDeliveries returns up to limit deliveries due at or before now, the
// most overdue first, and the time the next later one is due (zero when
// none is waiting).
func (tx *Tx) DueDeliveries(now time.Time, limit int) ([]Delivery, time.Time, error) {
	queue, err := tx.bucket(bucketDeliveries)
	if err != nil {
		return nil, time.Time{}, err
	}
	cutoff := binary.BigEndian.AppendUint64(nil, uint64(max(0, now.UnixMilli())))
	var due []Delivery
	c := queue.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if bytes.Compare(k[:8], cutoff) > 0 {
			return due, time.UnixMilli(int64(binary.BigEndian.Uint64(k[:8]))), nil
		}
		if len(due) == limit {
			return due, now, nil
		}
		var d Delivery
		if err := decodeJSON(v, &d); err != nil {
			return nil, time.Time{}, err
		}
		due = append(due, d)
	}
	return due, time.Time{}, nil
}

// RescheduleDelivery moves d to a new due time, recording the attempt.
// old is the due time it is stored under.
func (tx *Tx) RescheduleDelivery(old time.Time, d *Delivery) error {
	queue, err := tx.bucket(bucketDeliveries)
	if err != nil {
		return err
	}
	oldKey := deliveryKey(old, d.ID)
	if queue.Get(oldKey) == nil {
		return fmt.Errorf("delivery %s: %w", d.ID, ErrNotFound)
	}
	if err := queue.Delete(oldKey); err != nil {
		return err
	}
	return putJSON(queue, deliveryKey(d.Due, d.ID), d)
}

// FinishDelivery removes a delivery that succeeded or was given up, and its
// body once no delivery needs it. Finishing one already gone is not an
// error.
func (tx *Tx) FinishDelivery(d *Delivery) error {
	queue, err := tx.bucket(bucketDeliveries)
	if err != nil {
		return err
	}
	key := deliveryKey(d.Due, d.ID)
	if queue.Get(key) == nil {
		return nil
	}
	if err := queue.Delete(key); err != nil {
		return err
	}
	bodies, err := tx.bucket(bucketDeliveryBody)
	if err != nil {
		return err
	}
	v := bodies.Get(d.BodyID.Key())
	if len(v) < 4 {
		return nil
	}
	refs := binary.BigEndian.Uint32(v[:4])
	if refs <= 1 {
		return bodies.Delete(d.BodyID.Key())
	}
	updated := binary.BigEndian.AppendUint32(make([]byte, 0, len(v)), refs-1)
	return bodies.Put(d.BodyID.Key(), append(updated, v[4:]...))
}

// DeliveryBody returns the activity JSON of a delivery.
func (tx *Tx) DeliveryBody(bodyID ID) ([]byte, error) {
	bodies, err := tx.bucket(bucketDeliveryBody)
	if err != nil {
		return nil, err
	}
	v := bodies.Get(bodyID.Key())
	if len(v) < 4 {
		return nil, fmt.Errorf("delivery body %s: %w", bodyID, ErrNotFound)
	}
	return bytes.Clone(v[4:]), nil
}

// PendingDeliveries counts the queue.
func (tx *Tx) PendingDeliveries() (int, error) {
	queue, err := tx.bucket(bucketDeliveries)
	if err != nil {
		return 0, err
	}
	return queue.Stats().KeyN, nil
}

// HostState is how deliveries to one host have been going. A host that
// keeps failing is backed off as a whole.
type HostState struct {
	Failures int       `json:"failures"` // consecutive failed attempts
	RetryAt  time.Time `json:"retry_at"` // no attempt before this
}

// DeliveryHost returns the state of host; a host never failed has the zero
// state.
func (tx *Tx) DeliveryHost(host string) (HostState, error) {
	hosts, err := tx.bucket(bucketDeliveryHosts)
	if err != nil {
		return HostState{}, err
	}
	var h HostState
	if err := getJSON(hosts, []byte(host), &h); err != nil && !isNotFound(err) {
		return HostState{}, err
	}
	return h, nil
}

// PutDeliveryHost records the state of host; the zero state removes it.
func (tx *Tx) PutDeliveryHost(host string, h HostState) error {
	hosts, err := tx.bucket(bucketDeliveryHosts)
	if err != nil {
		return err
	}
	if h == (HostState{}) {
		return hosts.Delete([]byte(host))
	}
	return putJSON(hosts, []byte(host), h)
}
