// Package web is every HTTP surface of Rhizome and the one place that
// assembles a running server from its parts: it opens the store, starts the
// instance and mounts the routes, so main and the tests build it the same
// way. Subpackages serve one surface each (wellknown, federation, pages,
// adminapi); respond maps errors to responses.
//
// web reads storage directly for queries but changes federated state only
// through activitypub.
package web
