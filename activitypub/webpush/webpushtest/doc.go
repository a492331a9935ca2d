// Package webpushtest runs a Web Push service for tests: a real loopback
// HTTP listener that accepts what webpush.Sender posts, checks it as a push
// service and browser would, and keeps the decrypted messages for the test
// to read.
//
// A message is accepted (201) only when its VAPID Authorization header is
// valid (ES256 JWT signed by the key it names, aud equal to the endpoint's
// origin, exp in the future and at most 24 hours away, sub a mailto: or
// https: URI), its TTL and Urgency headers are well-formed, it is at most
// 4096 bytes and it decrypts (RFC 8291 over RFC 8188 aes128gcm) with the
// subscription's keys. Anything else is answered with a 4xx and recorded in
// Errors, so a test can tell a wrong message from a missing one.
//
// The package is for tests only; it imports testing and must never be
// imported by non-test code.
package webpushtest
