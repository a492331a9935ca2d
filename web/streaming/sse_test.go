package streaming

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
)

func TestEvents_streams(t *testing.T) {
	h, ts := newTestServer(t, Options{})
	tests := []struct {
		path    string
		channel string
	}{
		{"/api/v1/streaming/user", UserChannel(1)},
		{"/api/v1/streaming/user/notification", NotificationChannel(1)},
		{"/api/v1/streaming/public", PublicChannel},
		{"/api/v1/streaming/public?only_media=true", PublicMediaChannel},
		{"/api/v1/streaming/public?only_media=false", PublicChannel},
		{"/api/v1/streaming/public/local", LocalChannel},
		{"/api/v1/streaming/public/local?only_media=1", LocalMediaChannel},
		{"/api/v1/streaming/public/remote", RemoteChannel},
		{"/api/v1/streaming/public/remote?only_media=true", RemoteMediaChannel},
		{"/api/v1/streaming/hashtag?tag=Foo", HashtagChannel("foo", false)},
		{"/api/v1/streaming/hashtag/local?tag=foo", HashtagChannel("foo", true)},
		{"/api/v1/streaming/list?list=7", ListChannel(7)},
		{"/api/v1/streaming/direct", DirectChannel(1)},
		{"/api/v1/streaming/public?access_token=" + aliceToken, PublicChannel},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ctx := testContext(t)
			token := aliceToken
			if strings.Contains(tt.path, "access_token") {
				token = ""
			}
			br := openEvents(t, ctx, ts, tt.path, token)
			h.Publish(&Message{Event: EventUpdate, Payload: `{"id":"decoy"}`}, UserChannel(2), ListChannel(8), HashtagChannel("bar", false))
			h.Publish(&Message{Event: EventUpdate, Payload: statusJSON}, tt.channel)
			h.Publish(&Message{Event: EventDelete, Payload: "109"}, tt.channel)
			if ev := readEvent(t, br); ev != (sseEvent{EventUpdate, statusJSON}) {
				t.Errorf("got %+v, want update %s", ev, statusJSON)
			}
			if ev := readEvent(t, br); ev != (sseEvent{EventDelete, "109"}) {
				t.Errorf("got %+v, want delete 109", ev)
			}
		})
	}
}

func TestEvents_payloads(t *testing.T) {
	h, ts := newTestServer(t, Options{})
	ctx := testContext(t)
	br := openEvents(t, ctx, ts, "/api/v1/streaming/user", bobToken)
	h.Publish(&Message{Event: EventUpdate, Payload: `{"id":"hidden"}`, Data: hideFrom(2)}, UserChannel(2))
	h.Publish(&Message{Event: EventFiltersChanged}, UserChannel(2))
	h.Publish(&Message{Event: EventUpdate, Payload: "{\n  \"id\": \"2\"\n}\n"}, UserChannel(2))
	if ev := readEvent(t, br); ev != (sseEvent{EventFiltersChanged, "undefined"}) {
		t.Errorf("got %+v, want filters_changed with Mastodon's undefined (and the hidden status skipped)", ev)
	}
	// A payload with line breaks is split over data lines, which a client
	// joins back with "\n".
	if ev := readEvent(t, br); ev != (sseEvent{EventUpdate, "{\n  \"id\": \"2\"\n}\n"}) {
		t.Errorf("got %+v", ev)
	}
}

func TestEvents_heartbeat(t *testing.T) {
	_, ts := newTestServer(t, Options{Heartbeat: 10 * time.Millisecond})
	ctx := testContext(t)
	br := openEvents(t, ctx, ts, "/api/v1/streaming/public", aliceToken)
	for range 2 {
		line, err := br.ReadString('\n')
		if err != nil || line != ":thump\n" {
			t.Fatalf("line %q, %v; want a heartbeat", line, err)
		}
		if blank, err := br.ReadString('\n'); err != nil || blank != "\n" {
			t.Fatalf("after heartbeat %q, %v", blank, err)
		}
	}
}

func TestEvents_refused(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tests := []struct {
		path, token string
		wantStatus  int
		wantError   string
	}{
		{"/api/v1/streaming/user", "", 401, "Missing access token"},
		{"/api/v1/streaming/public", "nope", 401, "Invalid access token"},
		{"/api/v1/streaming/public", bannedToken, 403, "This action is not allowed"},
		{"/api/v1/streaming/user", noReadToken, 403, "This action is not allowed"},
		{"/api/v1/streaming/list?list=8", aliceToken, 404, "Record not found"},
		{"/api/v1/streaming/list", aliceToken, 400, "Missing list name parameter"},
		{"/api/v1/streaming/hashtag", aliceToken, 400, "Missing tag name parameter"},
		{"/api/v1/streaming/hashtag/local?tag=", aliceToken, 400, "Missing tag name parameter"},
		{"/api/v1/streaming/firehose", aliceToken, 400, "Unknown channel requested"},
		{"/api/v1/streaming/user/everything", aliceToken, 400, "Unknown channel requested"},
	}
	for _, tt := range tests {
		t.Run(tt.path+"/"+tt.token, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(testContext(t), http.MethodGet, ts.URL+tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body errorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || body.Error != tt.wantError {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body.Error, tt.wantStatus, tt.wantError)
			}
		})
	}
}

// The server's own ReadTimeout and WriteTimeout must not end a stream that
// outlives them: the handler lifts both.
func TestEvents_outlivesServerTimeouts(t *testing.T) {
	h := New(Options{Backend: fakeBackend{}, Heartbeat: 20 * time.Millisecond})
	r := mux.NewRouter()
	h.Register(r)
	ts := httptest.NewUnstartedServer(r)
	ts.Config.ReadTimeout = 50 * time.Millisecond
	ts.Config.WriteTimeout = 50 * time.Millisecond
	ts.Start()
	t.Cleanup(ts.Close)
	t.Cleanup(h.Close)
	ctx := testContext(t)
	br := openEvents(t, ctx, ts, "/api/v1/streaming/public", aliceToken)
	for i := 0; i < 10; i++ { // ten heartbeats: four times both timeouts
		if line, err := br.ReadString('\n'); err != nil {
			t.Fatalf("heartbeat %d: %q, %v", i, line, err)
		}
		_, _ = br.ReadString('\n')
	}
	h.Publish(&Message{Event: EventDelete, Payload: "1"}, PublicChannel)
	if ev := readEvent(t, br); ev != (sseEvent{EventDelete, "1"}) {
		t.Errorf("got %+v", ev)
	}
}

func TestHealth(t *testing.T) {
	h, ts := newTestServer(t, Options{})
	get := func() (int, string, string) {
		resp, err := ts.Client().Get(ts.URL + "/api/v1/streaming/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if code, ct, body := get(); code != 200 || body != "OK" || !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("got %d %q %q, want 200 text/plain OK", code, ct, body)
	}
	h.Close()
	if code, _, _ := get(); code != http.StatusServiceUnavailable {
		t.Errorf("after Close: %d, want 503", code)
	}
}
