// Package activitypub is the instance's behaviour: the ActivityPub identity
// of local accounts and of the instance itself, local actions that peers
// must learn about, and (as federation grows) incoming activities,
// signatures and delivery.
//
// It owns the URL scheme of actors and collections and renders every
// ActivityPub document the instance serves. Only this package (and its
// subpackages) may import go-fed's streams, vocab or pub packages, and no
// go-fed type appears in its exported API.
//
// Invariants: every change to federated state goes through an Instance
// method; network work happens before a storage transaction opens, never
// inside it.
package activitypub
