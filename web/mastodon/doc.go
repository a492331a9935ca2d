// Package mastodon serves the Mastodon client API, so Mastodon apps work
// with Rhizome: accounts, statuses, timelines and the instance's
// description. Every write goes through activitypub's local actions;
// reads come from storage. One renderer (render.go) builds each entity.
package mastodon
