package streaming

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// streamCases are the streams a client can ask for, how it asks by query
// and by message, where a publisher sends to reach them (as alice,
// account 1) and the stream array the client sees.
var streamCases = []struct {
	name    string
	query   string
	msg     string
	channel string
	want    []string
}{
	{"user", "stream=user", `{"type":"subscribe","stream":"user"}`, UserChannel(1), []string{"user"}},
	{"user:notification", "stream=user:notification", `{"type":"subscribe","stream":"user:notification"}`, NotificationChannel(1), []string{"user:notification"}},
	{"public", "stream=public", `{"type":"subscribe","stream":"public"}`, PublicChannel, []string{"public"}},
	{"public:local", "stream=public:local", `{"type":"subscribe","stream":"public:local"}`, LocalChannel, []string{"public:local"}},
	{"public:remote", "stream=public:remote", `{"type":"subscribe","stream":"public:remote"}`, RemoteChannel, []string{"public:remote"}},
	{"public:media", "stream=public:media", `{"type":"subscribe","stream":["public:media"]}`, PublicMediaChannel, []string{"public:media"}},
	{"hashtag", "stream=hashtag&tag=Foo", `{"type":"subscribe","stream":"hashtag","tag":"Foo"}`, HashtagChannel("foo", false), []string{"hashtag", "Foo"}},
	{"hashtag:local", "stream=hashtag:local&tag=%23foo", `{"type":"subscribe","stream":"hashtag:local","tag":"#foo"}`, HashtagChannel("#FOO", true), []string{"hashtag:local", "foo"}},
	{"list", "stream=list&list=7", `{"type":"subscribe","stream":"list","list":7}`, ListChannel(7), []string{"list", "7"}},
	{"list as string", "stream=list&list=7", `{"type":"subscribe","stream":"list","list":"7"}`, ListChannel(7), []string{"list", "7"}},
	{"direct", "stream=direct", `{"type":"subscribe","stream":"direct"}`, DirectChannel(1), []string{"direct"}},
}

const statusJSON = `{"id":"109","content":"<p>caf\u00e9 \"quoted\" \\ back</p>\n","tags":[]}`

func TestWebSocket_streams(t *testing.T) {
	h, ts := newTestServer(t, Options{})
	for _, tt := range streamCases {
		for _, via := range []string{"query", "message"} {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				ctx := testContext(t)
				var c *websocket.Conn
				if via == "query" {
					c = dial(t, ctx, ts, aliceToken, tt.query)
				} else {
					c = dial(t, ctx, ts, aliceToken, "")
					send(t, ctx, c, tt.msg)
					barrier(t, ctx, c)
				}
				// Bob's channels and another tag must not reach alice.
				h.Publish(&Message{Event: EventUpdate, Payload: `{"id":"decoy"}`},
					UserChannel(2), NotificationChannel(2), DirectChannel(2), ListChannel(8), HashtagChannel("bar", false))
				h.Publish(&Message{Event: EventUpdate, Payload: statusJSON}, tt.channel)
				f := readFrame(t, ctx, c)
				if !slices.Equal(f.Stream, tt.want) || f.Event != EventUpdate || f.Payload == nil || *f.Payload != statusJSON {
					t.Errorf("got %+v (payload %v), want stream %q, update, payload %s", f, deref(f.Payload), tt.want, statusJSON)
				}
			})
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return "<none>"
	}
	return *p
}

func TestWebSocket_severalStreams(t *testing.T) {
	h, ts := newTestServer(t, Options{})
	ctx := testContext(t)
	c := dial(t, ctx, ts, aliceToken, "stream=user")
	send(t, ctx, c, `{"type":"subscribe","stream":"user:notification"}`)
	send(t, ctx, c, `{"type":"subscribe","stream":"hashtag","tag":"foo"}`)
	send(t, ctx, c, `{"type":"subscribe","stream":"public"}`)
	send(t, ctx, c, `{"type":"subscribe","stream":"public"}`) // again: no second subscription
	barrier(t, ctx, c)

	// A notification goes to both user channels and arrives once per
	// stream, as in Mastodon; a status in two channels reaches the
	// connection through each.
	h.Publish(&Message{Event: EventNotification, Payload: `{"id":"1"}`}, UserChannel(1), NotificationChannel(1))
	h.Publish(&Message{Event: EventUpdate, Payload: `{"id":"2"}`}, PublicChannel, HashtagChannel("foo", false), PublicChannel)
	h.Publish(&Message{Event: EventDelete, Payload: "3"}, PublicChannel)

	var got []string
	for range 5 {
		f := readFrame(t, ctx, c)
		got = append(got, strings.Join(f.Stream, " ")+"|"+f.Event+"|"+deref(f.Payload))
	}
	slices.Sort(got[:2]) // each Publish reaches subscriptions in no set order
	slices.Sort(got[2:4])
	want := []string{
		`user:notification|notification|{"id":"1"}`,
		`user|notification|{"id":"1"}`,
		`hashtag foo|update|{"id":"2"}`,
		`public|update|{"id":"2"}`,
		`public|delete|3`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("frames:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Unsubscribed streams stop; the others go on.
	send(t, ctx, c, `{"type":"unsubscribe","stream":"hashtag","tag":"FOO"}`)
	send(t, ctx, c, `{"type":"unsubscribe","stream":"user"}`)
	barrier(t, ctx, c)
	h.Publish(&Message{Event: EventUpdate, Payload: `{"id":"4"}`}, HashtagChannel("foo", false))
	h.Publish(&Message{Event: EventUpdate, Payload: `{"id":"5"}`}, UserChannel(1))
	h.Publish(&Message{Event: EventUpdate, Payload: `{"id":"6"}`}, PublicChannel)
	if f := readFrame(t, ctx, c); !slices.Equal(f.Stream, []string{"public"}) || deref(f.Payload) != `{"id":"6"}` {
		t.Errorf("after unsubscribe got %+v %s, want public {\"id\":\"6\"}", f, deref(f.Payload))
	}
}

func TestWebSocket_auth(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tests := []struct {
		name       string
		header     string // Authorization
		protocol   string // Sec-WebSocket-Protocol
		query      string
		wantStatus int // 0: connects
		wantError  string
	}{
		{name: "header", header: "Bearer " + aliceToken, query: "stream=user"},
		{name: "header lower-case scheme", header: "bearer " + aliceToken},
		{name: "query", query: "access_token=" + aliceToken + "&stream=public"},
		{name: "protocol", protocol: aliceToken, query: "stream=user"},
		{name: "header wins over protocol", header: "Bearer " + aliceToken, protocol: "something-else"},
		{name: "missing", query: "stream=user", wantStatus: 401, wantError: "Missing access token"},
		{name: "not bearer", header: "Basic YWxpY2U6eA==", wantStatus: 401, wantError: "Missing access token"},
		{name: "bad header", header: "Bearer nope", wantStatus: 401, wantError: "Invalid access token"},
		{name: "bad query", query: "access_token=nope", wantStatus: 401, wantError: "Invalid access token"},
		{name: "bad protocol", protocol: "nope", wantStatus: 401, wantError: "Invalid access token"},
		{name: "suspended", header: "Bearer " + bannedToken, wantStatus: 403, wantError: "This action is not allowed"},
		{name: "no read scope", header: "Bearer " + noReadToken, query: "stream=user", wantStatus: 403, wantError: "This action is not allowed"},
		{name: "list of another", header: "Bearer " + aliceToken, query: "stream=list&list=8", wantStatus: 404, wantError: "Record not found"},
		{name: "list not a number", header: "Bearer " + aliceToken, query: "stream=list&list=x", wantStatus: 404, wantError: "Record not found"},
		{name: "unknown stream", header: "Bearer " + aliceToken, query: "stream=nope", wantStatus: 400, wantError: "Unknown stream type"},
		{name: "hashtag without tag", header: "Bearer " + aliceToken, query: "stream=hashtag", wantStatus: 400, wantError: "Missing tag name parameter"},
		{name: "list without id", header: "Bearer " + aliceToken, query: "stream=list", wantStatus: 400, wantError: "Missing list name parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
			if tt.header != "" {
				opts.HTTPHeader.Set("Authorization", tt.header)
			}
			if tt.protocol != "" {
				opts.Subprotocols = []string{tt.protocol}
			}
			c, resp, err := websocket.Dial(ctx, wsURL(ts, tt.query), opts)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer c.CloseNow()
				if c.Subprotocol() != tt.protocol {
					t.Errorf("subprotocol %q, want %q echoed", c.Subprotocol(), tt.protocol)
				}
				barrier(t, ctx, c) // the connection works
				return
			}
			if err == nil {
				c.CloseNow()
				t.Fatalf("dial succeeded, want %d", tt.wantStatus)
			}
			if resp == nil || resp.StatusCode != tt.wantStatus {
				t.Fatalf("dial: %v, response %v; want status %d", err, resp, tt.wantStatus)
			}
			var body errorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error != tt.wantError {
				t.Errorf("body %+v (%v), want error %q", body, err, tt.wantError)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestWebSocket_badRequests(t *testing.T) {
	h, ts := newTestServer(t, Options{MaxSubscriptions: 3})
	ctx := testContext(t)
	alice := dial(t, ctx, ts, aliceToken, "")
	noRead := dial(t, ctx, ts, noReadToken, "")
	tests := []struct {
		name       string
		conn       *websocket.Conn
		msg        string
		wantStatus int
		wantError  string
	}{
		{"not JSON", alice, `subscribe public`, 400, "Invalid JSON"},
		{"truncated", alice, `{"type":"subscribe"`, 400, "Invalid JSON"},
		{"bad parameter type", alice, `{"type":"subscribe","stream":"list","list":{"id":7}}`, 400, "Invalid message"},
		{"unknown type", alice, `{"type":"subscrib","stream":"public"}`, 400, "Unknown message type"},
		{"no stream", alice, `{"type":"subscribe"}`, 400, "Unknown stream type"},
		{"unknown stream", alice, `{"type":"subscribe","stream":"firehose"}`, 400, "Unknown stream type"},
		{"hashtag without tag", alice, `{"type":"subscribe","stream":"hashtag"}`, 400, "Missing tag name parameter"},
		{"hashtag with colon", alice, `{"type":"subscribe","stream":"hashtag","tag":"local:foo"}`, 400, "Invalid tag name parameter"},
		{"list without id", alice, `{"type":"subscribe","stream":"list"}`, 400, "Missing list name parameter"},
		{"list of another", alice, `{"type":"subscribe","stream":"list","list":"8"}`, 404, "Record not found"},
		{"unsubscribe unknown", alice, `{"type":"unsubscribe","stream":"firehose"}`, 400, "Unknown stream type"},
		{"no read scope", noRead, `{"type":"subscribe","stream":"public"}`, 403, "This action is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send(t, ctx, tt.conn, tt.msg)
			f := readFrame(t, ctx, tt.conn)
			if f.Status != tt.wantStatus || f.Error != tt.wantError || f.Event != "" {
				t.Errorf("got %+v, want status %d error %q", f, tt.wantStatus, tt.wantError)
			}
		})
	}
	t.Run("too many subscriptions", func(t *testing.T) {
		send(t, ctx, alice, `{"type":"subscribe","stream":"public"}`)
		send(t, ctx, alice, `{"type":"subscribe","stream":"public:local"}`)
		send(t, ctx, alice, `{"type":"subscribe","stream":"user"}`)
		send(t, ctx, alice, `{"type":"subscribe","stream":"direct"}`)
		if f := readFrame(t, ctx, alice); f.Status != 400 || f.Error != "Too many subscriptions" {
			t.Errorf("got %+v, want 400 Too many subscriptions", f)
		}
	})
	t.Run("still usable", func(t *testing.T) {
		barrier(t, ctx, alice)
		h.Publish(&Message{Event: EventUpdate, Payload: `{"id":"1"}`}, PublicChannel)
		if f := readFrame(t, ctx, alice); !slices.Equal(f.Stream, []string{"public"}) {
			t.Errorf("got %+v, want a public update", f)
		}
	})
}

func TestWebSocket_keep(t *testing.T) {
	h, ts := newTestServer(t, Options{})
	ctx := testContext(t)
	alice := dial(t, ctx, ts, aliceToken, "stream=public")
	bob := dial(t, ctx, ts, bobToken, "stream=public")
	h.Publish(&Message{Event: EventUpdate, Payload: `{"id":"hidden"}`, Data: hideFrom(1)}, PublicChannel)
	h.Publish(&Message{Event: EventUpdate, Payload: `{"id":"shown"}`}, PublicChannel)
	if f := readFrame(t, ctx, alice); deref(f.Payload) != `{"id":"shown"}` {
		t.Errorf("alice got %s first, want the shown status (the hidden one dropped)", deref(f.Payload))
	}
	for _, want := range []string{`{"id":"hidden"}`, `{"id":"shown"}`} {
		if f := readFrame(t, ctx, bob); deref(f.Payload) != want {
			t.Errorf("bob got %s, want %s", deref(f.Payload), want)
		}
	}
}

func TestWebSocket_noPayload(t *testing.T) {
	h, ts := newTestServer(t, Options{})
	ctx := testContext(t)
	c := dial(t, ctx, ts, aliceToken, "stream=user")
	h.Publish(&Message{Event: EventFiltersChanged}, UserChannel(1))
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"stream":["user"],"event":"filters_changed"}`; string(b) != want {
		t.Errorf("frame %s, want %s", b, want)
	}
}

func TestWebSocket_binaryMessageCloses(t *testing.T) {
	h, ts := newTestServer(t, Options{})
	ctx := testContext(t)
	c := dial(t, ctx, ts, aliceToken, "")
	if err := c.Write(ctx, websocket.MessageBinary, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
		t.Errorf("read: %v, want close 1003", err)
	}
	eventually(t, ctx, "connection to leave the hub", func() bool { return h.Connections() == 0 })
}

func TestWebSocket_oversizedMessageCloses(t *testing.T) {
	h, ts := newTestServer(t, Options{})
	ctx := testContext(t)
	c := dial(t, ctx, ts, aliceToken, "")
	big := `{"type":"subscribe","stream":"hashtag","tag":"` + strings.Repeat("a", readLimit) + `"}`
	_ = c.Write(ctx, websocket.MessageText, []byte(big))
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("read: %v, want close 1009", err)
	}
	eventually(t, ctx, "connection to leave the hub", func() bool { return h.Connections() == 0 })
}

func TestWebSocket_unansweredPingDrops(t *testing.T) {
	h, ts := newTestServer(t, Options{Heartbeat: 20 * time.Millisecond})
	ctx := testContext(t)
	_ = dial(t, ctx, ts, aliceToken, "stream=public") // never reads, so never answers a ping
	answering := dial(t, ctx, ts, bobToken, "stream=public")
	go func() {
		for {
			if _, _, err := answering.Read(ctx); err != nil {
				return
			}
		}
	}()
	eventually(t, ctx, "silent client to be dropped", func() bool { return h.Connections() == 1 })
	// The client that reads has answered the same pings and stays.
	if err := answering.Ping(ctx); err != nil {
		t.Errorf("answering client: %v", err)
	}
}

func TestWebSocket_plainRequest(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	for _, path := range []string{"/api/v1/streaming", "/api/v1/streaming/"} {
		req, _ := http.NewRequestWithContext(testContext(t), http.MethodGet, ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+aliceToken)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), `"error"`) {
			t.Errorf("GET %s: %d %s, want 404 JSON error", path, resp.StatusCode, b)
		}
	}
}

func TestWebSocket_trailingSlash(t *testing.T) {
	h, ts := newTestServer(t, Options{})
	ctx := testContext(t)
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + aliceToken}}}
	c, _, err := websocket.Dial(ctx, wsURL(ts, "")+"/?stream=public", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	h.Publish(&Message{Event: EventDelete, Payload: "1"}, PublicChannel)
	if f := readFrame(t, ctx, c); f.Event != EventDelete {
		t.Errorf("got %+v", f)
	}
}

// statusPayload is a rendered status of about 2 KB, like a short post by
// a remote account with a mention and a hashtag.
func statusPayload() string {
	account := map[string]any{
		"id":              "109334860508022726",
		"username":        "alice",
		"acct":            "alice@example.social",
		"display_name":    "Alice",
		"locked":          false,
		"bot":             false,
		"discoverable":    true,
		"group":           false,
		"created_at":      "2022-11-13T00:00:00.000Z",
		"note":            "<p>Gardener, reader of long books.</p>",
		"url":             "https://example.social/@alice",
		"avatar":          "https://files.example.social/accounts/avatars/109/334/860/508/022/726/original/a.png",
		"avatar_static":   "https://files.example.social/accounts/avatars/109/334/860/508/022/726/original/a.png",
		"header":          "https://files.example.social/headers/original/missing.png",
		"header_static":   "https://files.example.social/headers/original/missing.png",
		"followers_count": 312,
		"following_count": 210,
		"statuses_count":  4821,
		"last_status_at":  "2026-03-01",
		"emojis":          []any{},
		"fields":          []any{},
	}
	status := map[string]any{
		"id":                     "113044327388663283",
		"created_at":             "2026-03-01T12:05:46.839Z",
		"in_reply_to_id":         nil,
		"in_reply_to_account_id": nil,
		"sensitive":              false,
		"spoiler_text":           "",
		"visibility":             "public",
		"language":               "en",
		"uri":                    "https://example.social/users/alice/statuses/113044327388663283",
		"url":                    "https://example.social/@alice/113044327388663283",
		"replies_count":          2,
		"reblogs_count":          5,
		"favourites_count":       17,
		"edited_at":              nil,
		"content": `<p>The first tomatoes are in! <a href="https://example.social/tags/garden" class="mention hashtag" rel="tag">#<span>garden</span></a> ` +
			`<span class="h-card"><a href="https://b.example/@bob" class="u-url mention">@<span>bob</span></a></span> "told you so" – it's the compost.</p>`,
		"reblog":            nil,
		"account":           account,
		"media_attachments": []any{},
		"mentions":          []any{map[string]any{"id": "1", "username": "bob", "url": "https://b.example/@bob", "acct": "bob@b.example"}},
		"tags":              []any{map[string]any{"name": "garden", "url": "https://example.social/tags/garden"}},
		"emojis":            []any{},
		"card":              nil,
		"poll":              nil,
	}
	b, _ := json.Marshal(status)
	return string(b)
}

// BenchmarkFanout1000 publishes one ~2 KB update to 1000 WebSocket clients
// on loopback and waits until every client has read it. Client and server
// run in this process, so the figures include the clients' reading.
func BenchmarkFanout1000(b *testing.B) {
	const clients = 1000
	h, ts := newTestServer(b, Options{})
	ctx := testContext(b)
	var received atomic.Int64
	all := make(chan struct{}, 1)
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		c := dial(b, ctx, ts, aliceToken, "stream=public")
		conns[i] = c
		wg.Go(func() {
			buf := make([]byte, 4<<10)
			for {
				// No per-read context, so the client adds no timers.
				_, r, err := c.Reader(context.Background())
				if err != nil {
					return
				}
				for {
					if _, err := r.Read(buf); err != nil {
						if !errors.Is(err, io.EOF) {
							return
						}
						break
					}
				}
				if received.Add(1)%clients == 0 {
					all <- struct{}{}
				}
			}
		})
	}
	payload := statusPayload()
	publish := func() {
		h.Publish(&Message{Event: EventUpdate, Payload: payload}, PublicChannel)
		select {
		case <-all:
		case <-ctx.Done():
			b.Fatalf("only %d of %d delivered", received.Load()%clients, clients)
		}
	}
	publish() // warm up: each connection grows its frame buffer once
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)) * clients)
	for b.Loop() {
		publish()
	}
	b.ReportMetric(float64(len(payload)), "payload-bytes")
	b.StopTimer()
	for _, c := range conns {
		c.CloseNow()
	}
	wg.Wait()
}
