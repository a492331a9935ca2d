package storage

import (
	"errors"
	"testing"
	"time"
)

func TestDeliveries_queueLifecycle(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"type":"Create"}`)
	bodyID := s.NewID()
	ds := []Delivery{
		{ID: s.NewID(), Due: now, Inbox: "https://b.test/inbox"},
		{ID: s.NewID(), Due: now.Add(-time.Minute), Inbox: "https://c.test/inbox"},
		{ID: s.NewID(), Due: now.Add(time.Hour), Inbox: "https://d.test/inbox"},
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.EnqueueDeliveries(bodyID, body, ds) }); err != nil {
		t.Fatal(err)
	}
	var due []Delivery
	var next time.Time
	if err := s.View(func(tx *Tx) error {
		var err error
		due, next, err = tx.DueDeliveries(now, 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].Inbox != "https://c.test/inbox" || due[1].Inbox != "https://b.test/inbox" {
		t.Fatalf("due %+v, want c then b (most overdue first)", due)
	}
	if !next.Equal(now.Add(time.Hour)) {
		t.Fatalf("next due %v, want %v", next, now.Add(time.Hour))
	}
	// b fails and is retried later; c succeeds.
	retry := due[1]
	old := retry.Due
	retry.Due, retry.Attempt, retry.LastError = now.Add(30*time.Second), 1, "status 503"
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.RescheduleDelivery(old, &retry); err != nil {
			return err
		}
		return tx.FinishDelivery(&due[0])
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.View(func(tx *Tx) error {
		got, _, err := tx.DueDeliveries(now.Add(time.Minute), 10)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Inbox != "https://b.test/inbox" || got[0].Attempt != 1 {
			t.Errorf("after retry: %+v", got)
		}
		b, err := tx.DeliveryBody(bodyID)
		if err != nil || string(b) != string(body) {
			t.Errorf("body %q, %v", b, err)
		}
		n, _ := tx.PendingDeliveries()
		if n != 2 {
			t.Errorf("%d pending, want 2", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Finishing the last two frees the body.
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.FinishDelivery(&retry); err != nil {
			return err
		}
		if err := tx.FinishDelivery(&ds[2]); err != nil {
			return err
		}
		return tx.FinishDelivery(&ds[2]) // twice: harmless
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.View(func(tx *Tx) error {
		_, err := tx.DeliveryBody(bodyID)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("body kept after its last delivery: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestDeliveryHosts(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	h := HostState{Failures: 3, RetryAt: time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.PutDeliveryHost("b.test", h) }); err != nil {
		t.Fatal(err)
	}
	var got HostState
	if err := s.View(func(tx *Tx) error { var err error; got, err = tx.DeliveryHost("b.test"); return err }); err != nil {
		t.Fatal(err)
	}
	if got.Failures != 3 || !got.RetryAt.Equal(h.RetryAt) {
		t.Fatalf("got %+v", got)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.PutDeliveryHost("b.test", HostState{}) }); err != nil {
		t.Fatal(err)
	}
	if err := s.View(func(tx *Tx) error { var err error; got, err = tx.DeliveryHost("b.test"); return err }); err != nil || got != (HostState{}) {
		t.Fatalf("after reset: %+v, %v", got, err)
	}
}
