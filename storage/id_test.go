package storage

import (
	"bytes"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestIDGenerator_strictlyIncreasingAcrossGoroutines(t *testing.T) {
	g := idGenerator{now: time.Now}
	const goroutines, perGoroutine = 8, 5000
	results := make([][]ID, goroutines)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]ID, perGoroutine)
			for j := range ids {
				ids[j] = g.next()
			}
			results[i] = ids
		}()
	}
	wg.Wait()
	seen := make(map[ID]bool, goroutines*perGoroutine)
	var all []ID
	for i, ids := range results {
		for j := 1; j < len(ids); j++ {
			if ids[j] <= ids[j-1] {
				t.Fatalf("goroutine %d: id %d (%d) not above previous (%d)", i, j, ids[j], ids[j-1])
			}
		}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("id %d handed out twice", id)
			}
			seen[id] = true
		}
		all = append(all, ids...)
	}
	// Byte order of keys must equal numeric order, so cursors walk in time order.
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for i := 1; i < len(all); i++ {
		if bytes.Compare(all[i-1].Key(), all[i].Key()) >= 0 {
			t.Fatalf("keys of %d and %d are out of order", all[i-1], all[i])
		}
	}
}

func TestIDGenerator_timeOrderedAndClockStepBack(t *testing.T) {
	clock := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	g := idGenerator{now: func() time.Time { return clock }}
	first := g.next()
	if got := first.Time(); !got.Equal(clock) {
		t.Fatalf("ID time = %v, want %v", got, clock)
	}
	clock = clock.Add(-time.Hour) // the clock steps back
	if second := g.next(); second <= first {
		t.Fatalf("after clock step back: %d not above %d", second, first)
	}
	clock = clock.Add(2 * time.Hour)
	if third := g.next(); third.Time().Before(clock) {
		t.Fatalf("ID %d is from %v, want the current time %v", third, third.Time(), clock)
	}
}

func TestOpen_newIDsAboveStoredOnes(t *testing.T) {
	dir := t.TempDir()
	future := time.Now().Add(24 * time.Hour)
	s, err := Open(dir+"/r.db", Options{Now: func() time.Time { return future }})
	if err != nil {
		t.Fatal(err)
	}
	a := testAccount(s, "alice", "")
	if err := s.Update(t.Context(), func(tx *Tx) error { return tx.CreateAccount(a) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Reopen with a clock a day behind the stored record.
	s, err = Open(dir+"/r.db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if id := s.NewID(); id <= a.ID {
		t.Fatalf("new ID %d not above stored %d", id, a.ID)
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		in      string
		want    ID
		wantErr bool
	}{
		{"123", 123, false},
		{"18446744073709551615", ID(^uint64(0)), false},
		{"0", 0, true},
		{"-1", 0, true},
		{"abc", 0, true},
		{"", 0, true},
		{"18446744073709551616", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseID(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseID(%q) = %d, %v", tt.in, got, err)
			}
			if err == nil && got.String() != tt.in {
				t.Fatalf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}
