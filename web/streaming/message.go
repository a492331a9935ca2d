package streaming

import "sync"

// Event names Mastodon clients understand.
const (
	EventUpdate         = "update"          // payload: Status JSON
	EventDelete         = "delete"          // payload: the status ID
	EventNotification   = "notification"    // payload: Notification JSON
	EventFiltersChanged = "filters_changed" // no payload
	EventConversation   = "conversation"    // payload: Conversation JSON
	EventStatusUpdate   = "status.update"   // payload: Status JSON (an edit)
)

// Message is one event, rendered once by the publisher and shared by every
// connection it reaches. Once passed to Publish it must not be modified or
// copied.
type Message struct {
	Event string
	// Payload is the raw payload text: the entity's JSON for update,
	// notification, status.update and conversation; the ID for delete; empty
	// for filters_changed. WebSocket clients get it as a JSON string (and no
	// "payload" key when empty), SSE clients as the data line(s) ("undefined"
	// when empty, as Mastodon sends).
	Payload string
	// Data is opaque here, for Backend.Keep: the status's author and
	// mentions, say.
	Data any

	quoteOnce sync.Once
	quoted    []byte // Payload as a JSON string literal
}

// quotedPayload is Payload as a JSON string literal, built by the first
// connection that needs it and shared by the rest.
func (m *Message) quotedPayload() []byte {
	m.quoteOnce.Do(func() {
		m.quoted = appendJSONString(make([]byte, 0, len(m.Payload)+len(m.Payload)/8+2), m.Payload)
	})
	return m.quoted
}
