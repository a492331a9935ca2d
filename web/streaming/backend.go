package streaming

import "context"

// Viewer is the account a connection belongs to.
type Viewer struct {
	AccountID uint64
	Scopes    []string // the token's scopes, opaque here
	// Session names the credential the connection was opened with (a
	// token), for Disconnect. Opaque here; "" for none.
	Session string
}

// Backend is what the server supplies: who a token is, what they may
// subscribe to, and which messages they see.
type Backend interface {
	// Authenticate resolves an access token. A refusal wraps ErrUnauthorized
	// (answered 401) or ErrForbidden (403). It runs on the request's
	// goroutine, before any upgrade.
	Authenticate(ctx context.Context, token string) (Viewer, error)

	// Authorize decides whether v may subscribe to s: scope checks, list
	// ownership. A refusal wraps ErrForbidden, ErrNotFound or
	// ErrUnauthorized. It runs before the upgrade for a WebSocket's first
	// stream and for an SSE request, and on the connection's reader
	// goroutine for later subscriptions.
	Authorize(ctx context.Context, v Viewer, s Stream) error

	// Keep reports whether m should reach v (blocks, mutes, filters …). It
	// is called on the connection's own goroutine, never the publisher's,
	// once per delivery, and must not modify m. A slow Keep delays only
	// that connection, until its queue fills and it is dropped.
	Keep(v Viewer, m *Message) bool
}

// Personalizer is an optional extension of a Backend: for a message Keep
// let through on stream s, Personalize decides whether v still gets it
// there (a filter may hide it in that stream's context) and may return
// the payload v should get instead of m's (Mastodon adds per-viewer
// fields such as "filtered"), or "" for m's own. It runs on the
// connection's goroutine, like Keep.
type Personalizer interface {
	Personalize(v Viewer, s Stream, m *Message) (payload string, keep bool)
}

// deliver decides whether m reaches v on stream s and with which message:
// m itself, or a copy carrying v's own payload.
func deliver(b Backend, v Viewer, s Stream, m *Message) (*Message, bool) {
	if !b.Keep(v, m) {
		return nil, false
	}
	if p, ok := b.(Personalizer); ok {
		payload, keep := p.Personalize(v, s, m)
		if !keep {
			return nil, false
		}
		if payload != "" {
			return &Message{Event: m.Event, Payload: payload}, true
		}
	}
	return m, true
}
