// Package federation serves the ActivityPub documents of local actors to
// peers: actors and their collections. Browsers asking for an actor are
// sent to its HTML profile page. Documents are rendered by activitypub.
package federation
