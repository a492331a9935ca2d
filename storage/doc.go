// Package storage keeps Rhizome's records in one bbolt file: accounts (local
// users and remote actors alike), local users' credentials, instance settings
// and counters, each with its index buckets.
//
// Invariants:
//   - keys of record buckets are IDs from ID.Key: 8 bytes, big-endian,
//     time-ordered, so a cursor walks records in creation order;
//   - a record and all its index entries change in one transaction;
//   - counters are maintained in the write transaction that changes what
//     they count, never counted at read time;
//   - buckets are created by migrations only; a missing bucket is ErrCorrupt;
//   - no network I/O, channel wait or call into another package happens
//     while a transaction is open;
//   - values returned to callers are decoded copies, never bbolt memory.
//
// storage knows nothing of HTTP or ActivityPub JSON.
package storage
