package storage

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"
)

// ID identifies a record. The high 48 bits are milliseconds since the Unix
// epoch and the low 16 bits a sequence, so IDs sort by creation time. Clients
// see IDs as decimal strings.
type ID uint64

const seqBits = 16

// Key returns the 8-byte big-endian form used as a bbolt key.
func (id ID) Key() []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(id)) }

// String returns the decimal form shown to clients.
func (id ID) String() string { return strconv.FormatUint(uint64(id), 10) }

// Time returns the creation time encoded in the ID.
func (id ID) Time() time.Time { return time.UnixMilli(int64(id >> seqBits)) }

// ParseID parses the decimal form of an ID.
func ParseID(s string) (ID, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid id %q: %w", s, ErrNotFound)
	}
	return ID(n), nil
}

func idFromKey(k []byte) ID {
	if len(k) < 8 {
		return 0
	}
	return ID(binary.BigEndian.Uint64(k))
}

// IDAt returns an ID for a record created at t elsewhere (a remote status
// keeps its published time). Its sequence bits are random, so two records
// with the same millisecond almost never collide; callers still check.
func IDAt(t time.Time) ID {
	ms := min(max(t.UnixMilli(), 0), 1<<(64-seqBits)-1) // a date before 1970 must not wrap around
	return ID(uint64(ms)<<seqBits | uint64(rand.N(1<<seqBits)))
}

// idGenerator hands out strictly increasing IDs, also across goroutines.
// It never goes below floor, so a clock that steps back after a restart
// cannot reuse an ID that is already stored.
type idGenerator struct {
	last atomic.Uint64
	now  func() time.Time
}

func (g *idGenerator) next() ID {
	for {
		last := g.last.Load()
		candidate := uint64(g.now().UnixMilli()) << seqBits
		if candidate <= last {
			candidate = last + 1
		}
		if g.last.CompareAndSwap(last, candidate) {
			return ID(candidate)
		}
	}
}

// raise makes sure every future ID is above floor.
func (g *idGenerator) raise(floor ID) {
	for {
		last := g.last.Load()
		if uint64(floor) <= last || g.last.CompareAndSwap(last, uint64(floor)) {
			return
		}
	}
}
