package streaming

import (
	"errors"
	"net/http"
	"testing"
)

func TestParseStream(t *testing.T) {
	tests := []struct {
		name, tag, list string
		want            Stream
		wantStatus      int // 0: parses
	}{
		{name: "user", want: Stream{Name: StreamUser}},
		{name: "user:notification", want: Stream{Name: StreamNotification}},
		{name: "public", want: Stream{Name: StreamPublic}},
		{name: "public:media", want: Stream{Name: StreamPublicMedia}},
		{name: "public:local", want: Stream{Name: StreamLocal}},
		{name: "public:local:media", want: Stream{Name: StreamLocalMedia}},
		{name: "public:remote", want: Stream{Name: StreamRemote}},
		{name: "public:remote:media", want: Stream{Name: StreamRemoteMedia}},
		{name: "direct", want: Stream{Name: StreamDirect}},
		{name: "user", tag: "ignored", list: "1", want: Stream{Name: StreamUser}},
		{name: "hashtag", tag: "Foo", want: Stream{Name: StreamHashtag, Tag: "Foo"}},
		{name: "hashtag:local", tag: "#foo", want: Stream{Name: StreamHashtagLocal, Tag: "foo"}},
		{name: "hashtag", wantStatus: 400},
		{name: "hashtag", tag: "#", wantStatus: 400},
		{name: "hashtag", tag: "local:foo", wantStatus: 400},
		{name: "hashtag", tag: string(make([]byte, maxTagLen+1)), wantStatus: 400},
		{name: "list", list: "7", want: Stream{Name: StreamList, List: 7}},
		{name: "list", wantStatus: 400},
		{name: "list", list: "seven", wantStatus: 404},
		{name: "list", list: "0", wantStatus: 404},
		{name: "list", list: "-1", wantStatus: 404},
		{name: "list", list: "18446744073709551616", wantStatus: 404},
		{name: "", wantStatus: 400},
		{name: "User", wantStatus: 400},
		{name: "public:media:local", wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.tag+"/"+tt.list, func(t *testing.T) {
			got, err := parseStream(tt.name, tt.tag, tt.list)
			if tt.wantStatus == 0 {
				if err != nil || got != tt.want {
					t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if code, _ := classify(err); err == nil || code != tt.wantStatus {
				t.Errorf("got %+v, %v (%d); want status %d", got, err, code, tt.wantStatus)
			}
		})
	}
}

func TestStream_Channel(t *testing.T) {
	v := Viewer{AccountID: 42}
	tests := []struct {
		s         Stream
		want      string
		wantLabel string
	}{
		{Stream{Name: StreamUser}, "user:42", "user"},
		{Stream{Name: StreamNotification}, "user:notification:42", "user:notification"},
		{Stream{Name: StreamPublic}, "public", "public"},
		{Stream{Name: StreamPublicMedia}, "public:media", "public:media"},
		{Stream{Name: StreamLocal}, "public:local", "public:local"},
		{Stream{Name: StreamLocalMedia}, "public:local:media", "public:local:media"},
		{Stream{Name: StreamRemote}, "public:remote", "public:remote"},
		{Stream{Name: StreamRemoteMedia}, "public:remote:media", "public:remote:media"},
		{Stream{Name: StreamHashtag, Tag: "Foo"}, "hashtag:foo", "hashtag Foo"},
		{Stream{Name: StreamHashtagLocal, Tag: "Foo"}, "hashtag:local:foo", "hashtag:local Foo"},
		{Stream{Name: StreamList, List: 7}, "list:7", "list 7"},
		{Stream{Name: StreamDirect}, "direct:42", "direct"},
		{Stream{Name: "firehose"}, "", "firehose"},
	}
	for _, tt := range tests {
		t.Run(tt.s.String(), func(t *testing.T) {
			if got := tt.s.Channel(v); got != tt.want {
				t.Errorf("Channel = %q, want %q", got, tt.want)
			}
			if got := tt.s.String(); got != tt.wantLabel {
				t.Errorf("String = %q, want %q", got, tt.wantLabel)
			}
		})
	}
}

func TestChannelHelpers(t *testing.T) {
	tests := []struct{ got, want string }{
		{UserChannel(1), "user:1"},
		{NotificationChannel(1), "user:notification:1"},
		{ListChannel(18446744073709551615), "list:18446744073709551615"},
		{DirectChannel(3), "direct:3"},
		{HashtagChannel("#Rhizome", false), "hashtag:rhizome"},
		{HashtagChannel("Rhizome", true), "hashtag:local:rhizome"},
		{HashtagChannel("ÉTÉ", false), "hashtag:été"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		code int
		msg  string
	}{
		{errors.Join(errors.New("x"), ErrUnauthorized), http.StatusUnauthorized, "Invalid access token"},
		{ErrForbidden, http.StatusForbidden, "This action is not allowed"},
		{ErrNotFound, http.StatusNotFound, "Record not found"},
		{badRequest("Unknown stream type"), http.StatusBadRequest, "Unknown stream type"},
		{errors.New("database is down"), http.StatusInternalServerError, "An unexpected error occurred"},
	}
	for _, tt := range tests {
		if code, msg := classify(tt.err); code != tt.code || msg != tt.msg {
			t.Errorf("classify(%v) = %d %q, want %d %q", tt.err, code, msg, tt.code, tt.msg)
		}
	}
}
