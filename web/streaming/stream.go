package streaming

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Stream names, as clients send them and as Stream.Name holds them.
const (
	StreamUser         = "user"
	StreamNotification = "user:notification"
	StreamPublic       = "public"
	StreamPublicMedia  = "public:media"
	StreamLocal        = "public:local"
	StreamLocalMedia   = "public:local:media"
	StreamRemote       = "public:remote"
	StreamRemoteMedia  = "public:remote:media"
	StreamHashtag      = "hashtag"
	StreamHashtagLocal = "hashtag:local"
	StreamList         = "list"
	StreamDirect       = "direct"
)

// Channels shared by every viewer. The media channels carry only statuses
// with attachments; a publisher sends such a status to both PublicChannel
// and PublicMediaChannel (and the local or remote pair).
const (
	PublicChannel      = "public"
	PublicMediaChannel = "public:media"
	LocalChannel       = "public:local"
	LocalMediaChannel  = "public:local:media"
	RemoteChannel      = "public:remote"
	RemoteMediaChannel = "public:remote:media"
)

// maxTagLen bounds a hashtag parameter, in bytes.
const maxTagLen = 256

// Stream is what a client subscribes to.
type Stream struct {
	Name string // one of the Stream* constants
	Tag  string // hashtag streams: the tag as the client sent it, without '#'
	List uint64 // list stream: the list's ID
}

// Channel is the hub channel stream s of viewer v listens on, e.g.
// "user:42", "hashtag:local:foo", "list:7"; "" for an unknown stream name.
func (s Stream) Channel(v Viewer) string {
	switch s.Name {
	case StreamUser:
		return UserChannel(v.AccountID)
	case StreamNotification:
		return NotificationChannel(v.AccountID)
	case StreamPublic, StreamPublicMedia, StreamLocal, StreamLocalMedia, StreamRemote, StreamRemoteMedia:
		return s.Name
	case StreamHashtag:
		return HashtagChannel(s.Tag, false)
	case StreamHashtagLocal:
		return HashtagChannel(s.Tag, true)
	case StreamList:
		return ListChannel(s.List)
	case StreamDirect:
		return DirectChannel(v.AccountID)
	}
	return ""
}

// String is the stream's WebSocket label joined by spaces, for logs:
// "user", "hashtag:local foo", "list 7".
func (s Stream) String() string { return strings.Join(s.label(), " ") }

// label is the "stream" array of a WebSocket event: ["user"],
// ["hashtag", "foo"], ["list", "7"].
func (s Stream) label() []string {
	switch s.Name {
	case StreamHashtag, StreamHashtagLocal:
		return []string{s.Name, s.Tag}
	case StreamList:
		return []string{s.Name, strconv.FormatUint(s.List, 10)}
	}
	return []string{s.Name}
}

// framePrefix is the start of every WebSocket event of s, up to the event
// name: {"stream":["hashtag","foo"],"event":
func (s Stream) framePrefix() []byte {
	label, _ := json.Marshal(s.label()) // strings always encode
	b := make([]byte, 0, len(label)+len(`{"stream":,"event":`))
	b = append(b, `{"stream":`...)
	b = append(b, label...)
	return append(b, `,"event":`...)
}

// UserChannel carries account id's home timeline and, alongside
// NotificationChannel, its notifications and filters_changed.
func UserChannel(accountID uint64) string { return "user:" + strconv.FormatUint(accountID, 10) }

// NotificationChannel carries account id's notifications.
func NotificationChannel(accountID uint64) string {
	return "user:notification:" + strconv.FormatUint(accountID, 10)
}

// ListChannel carries the statuses of list id.
func ListChannel(id uint64) string { return "list:" + strconv.FormatUint(id, 10) }

// DirectChannel carries account id's conversation events.
func DirectChannel(accountID uint64) string { return "direct:" + strconv.FormatUint(accountID, 10) }

// HashtagChannel carries the public statuses tagged tag (compared without a
// leading '#' and in lower case), or only the local ones when localOnly.
func HashtagChannel(tag string, localOnly bool) string {
	tag = strings.ToLower(strings.TrimPrefix(tag, "#"))
	if localOnly {
		return "hashtag:local:" + tag
	}
	return "hashtag:" + tag
}

// parseStream checks a stream as a client names it: a name, and the tag or
// list parameter where the name needs one.
func parseStream(name, tag, list string) (Stream, error) {
	switch name {
	case StreamUser, StreamNotification, StreamDirect,
		StreamPublic, StreamPublicMedia, StreamLocal, StreamLocalMedia, StreamRemote, StreamRemoteMedia:
		return Stream{Name: name}, nil
	case StreamHashtag, StreamHashtagLocal:
		tag = strings.TrimPrefix(tag, "#")
		if tag == "" {
			return Stream{}, badRequest("Missing tag name parameter")
		}
		// A ':' would let "hashtag" + "local:foo" name another channel.
		if len(tag) > maxTagLen || strings.ContainsAny(tag, ":\r\n") {
			return Stream{}, badRequest("Invalid tag name parameter")
		}
		return Stream{Name: name, Tag: tag}, nil
	case StreamList:
		if list == "" {
			return Stream{}, badRequest("Missing list name parameter")
		}
		id, err := strconv.ParseUint(list, 10, 64)
		if err != nil || id == 0 {
			return Stream{}, fmt.Errorf("list %q: %w", list, ErrNotFound)
		}
		return Stream{Name: name, List: id}, nil
	}
	return Stream{}, badRequest("Unknown stream type")
}
