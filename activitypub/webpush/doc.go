// Package webpush sends Web Push notifications: messages encrypted for one
// browser or app subscription (RFC 8291, aes128gcm) and posted to the push
// service named by the subscription's endpoint, signed with the instance's
// VAPID key (RFC 8292).
//
// The package owns the VAPID key pair (Keys), the shape and validation of a
// client's subscription (Subscription) and one delivery attempt (Sender.Send).
// It does not store subscriptions, choose what to notify or retry: the caller
// does that from the error Send returns:
//   - nil: delivered to the push service;
//   - ErrGone: the subscription expired or was unsubscribed; remove it;
//   - ErrRejected: sending the same message again cannot succeed; drop it;
//   - anything else: temporary; retry later, no sooner than RetryAfter(err).
//
// Payloads are at most MaxPayload bytes; Mastodon's JSON notification (title,
// body, icon, IDs) fits easily, but the caller must truncate free text.
//
// webpush never imports go-fed or storage, and does no I/O but the one POST
// per Send, through the caller's HTTP client.
package webpush
