package streaming

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppendJSONString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`{"id":"1"}`, `"{\"id\":\"1\"}"`},
		{"a\\b", `"a\\b"`},
		{"tab\tnl\ncr\r", `"tab\tnl\ncr\r"`},
		{"\x00\x1f\x7f", `"\u0000\u001f` + "\x7f" + `"`},
		{"café ☕ 𝄞", `"café ☕ 𝄞"`},
		{"<a href=\"x\">&amp;</a>", `"<a href=\"x\">&amp;</a>"`},
		{"line\u2028para\u2029", `"line\u2028para\u2029"`},
		{"bad\xffbyte\xc3", `"bad\ufffdbyte\ufffd"`},
	}
	for _, tt := range tests {
		if got := string(appendJSONString(nil, tt.in)); got != tt.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// The literal decodes to the string encoding/json would, and is valid
// UTF-8 whatever the input.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", statusJSON, "\x00\u2028\xff\"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString(nil, s)
		if !utf8.Valid(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q → %s: %v", s, got, err)
		}
		std, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(std, &want)
		if back != want {
			t.Fatalf("%q → %s → %q, want %q", s, got, back, want)
		}
	})
}

func TestAppendFrame(t *testing.T) {
	tests := []struct {
		s    Stream
		m    *Message
		want string
	}{
		{Stream{Name: StreamPublic}, &Message{Event: EventDelete, Payload: "109"}, `{"stream":["public"],"event":"delete","payload":"109"}`},
		{Stream{Name: StreamHashtag, Tag: `a"b`}, &Message{Event: EventUpdate, Payload: `{"id":"1"}`}, `{"stream":["hashtag","a\"b"],"event":"update","payload":"{\"id\":\"1\"}"}`},
		{Stream{Name: StreamList, List: 7}, &Message{Event: EventStatusUpdate, Payload: "{}"}, `{"stream":["list","7"],"event":"status.update","payload":"{}"}`},
		{Stream{Name: StreamUser}, &Message{Event: EventFiltersChanged}, `{"stream":["user"],"event":"filters_changed"}`},
	}
	for _, tt := range tests {
		got := appendFrame(nil, tt.s.framePrefix(), tt.m)
		if string(got) != tt.want {
			t.Errorf("frame %s, want %s", got, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("frame %s is not JSON", got)
		}
		// A second connection reuses the quoted payload.
		if again := appendFrame(nil, tt.s.framePrefix(), tt.m); !bytes.Equal(again, got) {
			t.Errorf("second frame %s differs", again)
		}
	}
}

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		m    *Message
		want string
	}{
		{&Message{Event: EventUpdate, Payload: `{"id":"1"}`}, "event: update\ndata: {\"id\":\"1\"}\n\n"},
		{&Message{Event: EventDelete, Payload: "109"}, "event: delete\ndata: 109\n\n"},
		{&Message{Event: EventFiltersChanged}, "event: filters_changed\ndata: undefined\n\n"},
		{&Message{Event: EventUpdate, Payload: "a\nb\r\nc\rd\n"}, "event: update\ndata: a\ndata: b\ndata: c\ndata: d\ndata: \n\n"},
		{&Message{Event: "bad\nevent", Payload: "x"}, "event: bad event\ndata: x\n\n"},
	}
	for _, tt := range tests {
		if got := string(appendEvent(nil, tt.m)); got != tt.want {
			t.Errorf("event %q, want %q", got, tt.want)
		}
	}
}

// No client message makes the server answer with a 5xx, or accept a
// stream it cannot route.
func FuzzHandleRequest(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","stream":"hashtag","tag":"foo"}`,
		`{"type":"subscribe","stream":["list"],"list":7}`,
		`{"type":"unsubscribe","stream":"user"}`,
		`{"type":"subscribe","stream":"list","list":"x"}`,
		`{"type":1}`, `[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := New(Options{Backend: fakeBackend{}})
		c, _ := h.attach(Viewer{AccountID: 1, Scopes: []string{"read"}}, "memory", func(error) {})
		reply := h.handleRequest(context.Background(), c, data)
		if reply != nil {
			var e errorBody
			if err := json.Unmarshal(reply, &e); err != nil || e.Status < 400 || e.Status >= 500 || e.Error == "" {
				t.Fatalf("%q → reply %s", data, reply)
			}
		}
		for name, s := range c.subs {
			if name == "" || s.stream.Channel(c.viewer) != name {
				t.Fatalf("%q → subscription %q to %+v", data, name, s.stream)
			}
		}
	})
}
