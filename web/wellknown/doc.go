// Package wellknown serves the discovery documents peers and apps look for
// before anything else: WebFinger (RFC 7033), host-meta (RFC 6415) and
// NodeInfo 2.0/2.1.
package wellknown
