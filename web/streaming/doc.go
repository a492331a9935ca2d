// Package streaming is the transport of Mastodon's streaming API: a hub of
// channels, the WebSocket endpoint (/api/v1/streaming) and the
// Server-Sent-Events endpoints (/api/v1/streaming/user, /public, …).
//
// The package knows nothing of storage, statuses or rendering. The server
// renders an entity once, wraps it in a Message and calls Hub.Publish with
// the channels it belongs to (UserChannel, PublicChannel, HashtagChannel …).
// Authentication, scope checks, list ownership and per-viewer filtering
// (blocks, mutes) come from the Backend the server supplies.
//
// # Channels and streams
//
// A client subscribes to a Stream ("user", "hashtag" with a tag, "list" with
// an ID …). Each stream of a viewer listens on one hub channel, named by
// Stream.Channel: "user:42", "public:local", "hashtag:local:foo", "list:7".
// A connection receives a message once for every subscription whose channel
// is among those it was published to, tagged with that subscription's stream
// (["user"], ["hashtag","foo"] …). Mastodon sends a notification on both the
// "user" and the "user:notification" stream, so a publisher sends it to both
// UserChannel and NotificationChannel; Backend.Keep may drop notification
// events for tokens without a notifications scope.
//
// # Fan-out and slow clients
//
// Publish never blocks and never encodes: under a read lock it hands the
// *Message to each subscribed connection's bounded queue with a
// non-blocking send. Each connection's own goroutine runs Backend.Keep,
// encodes and writes. A connection whose queue is full is dropped at once
// (closed; it leaves the hub and its queue is freed), so one slow client can
// neither stall the others nor grow memory without bound. The payload's JSON
// string form is built once per Message, by the first WebSocket connection
// that sends it, and shared by the rest.
//
// # Lifetimes
//
// Every connection ends when its client goes away, when it is too slow
// (queue full, or a write not done within Options.WriteTimeout), when a
// WebSocket client stops answering pings, or when Hub.Close is called.
// Close ends every connection (WebSocket close 1001, SSE response ends),
// refuses new ones and waits until their goroutines have returned; call it
// before http.Server.Shutdown, which does not wait for hijacked WebSockets
// and would otherwise wait for SSE responses forever.
//
// Invariants: no I/O and no Backend call happens on the publisher's
// goroutine or under the hub's lock. Backend.Authenticate, and Authorize
// for a connection's first stream, run on the request's goroutine before
// anything is streamed; Authorize for a later WebSocket subscription runs
// on that connection's reader goroutine; Keep runs on its writer
// goroutine. Messages published from one goroutine reach each connection
// in order.
package streaming
