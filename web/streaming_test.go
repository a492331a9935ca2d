package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/rhizome-fed/rhizome/activitypub"
)

// wsEvent is one message of Mastodon's WebSocket streaming protocol.
type wsEvent struct {
	Stream  []string `json:"stream"`
	Event   string   `json:"event"`
	Payload string   `json:"payload"`
}

// sseEvent is one event read from a server-sent events stream.
type sseEvent struct{ event, data string }

// readSSE sends the events of an SSE response to out until it ends.
func readSSE(body *bufio.Reader, out chan<- sseEvent) {
	defer close(out)
	var ev sseEvent
	for {
		line, err := body.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if ev.event != "" {
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// waitFor reads events until match accepts one; it fails after a timeout
// that only guards against a hang.
func waitFor[E any](t *testing.T, what string, events <-chan E, match func(E) bool) E {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("%s: stream ended", what)
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestStreaming_acrossInstances subscribes alice on a over WebSocket and
// SSE; bob posts on b mentioning her. Both clients receive the update, the
// mention notification and the delete.
func TestStreaming_acrossInstances(t *testing.T) {
	n := newNetwork()
	a := n.start(t, "a.test", t.TempDir())
	b := n.start(t, "b.test", t.TempDir())
	alice := a.account("alice", false)
	bob := b.account("bob", false)
	a.followAndWait(alice, "bob@b.test", bob.URI)
	client := &http.Client{Transport: &http.Transport{DialContext: n.dial}}
	token := apiToken(t, a.srv, alice, "read")

	// Refusals first: no token, a bad token, a token without read scope.
	writeOnly := apiToken(t, a.srv, alice, "write")
	for _, tt := range []struct {
		name, query string
		want        int
	}{
		{"no token", "", 401},
		{"bad token", "&access_token=nope", 401},
		{"wrong scope", "&access_token=" + writeOnly, 403},
	} {
		if resp, _ := fetch(t, client, "http://a.test/api/v1/streaming/user?x=1"+tt.query, nil); resp.StatusCode != tt.want {
			t.Errorf("SSE %s: %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
		_, resp, err := websocket.Dial(t.Context(), "ws://a.test/api/v1/streaming?stream=user"+tt.query, &websocket.DialOptions{HTTPClient: client})
		if err == nil || resp == nil || resp.StatusCode != tt.want {
			t.Errorf("WebSocket %s: %v %v, want %d", tt.name, err, resp, tt.want)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// WebSocket with the token in Sec-WebSocket-Protocol, as Elk sends it.
	ws, resp, err := websocket.Dial(ctx, "ws://a.test/api/v1/streaming", &websocket.DialOptions{HTTPClient: client, Subprotocols: []string{token}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if resp.Header.Get("Sec-WebSocket-Protocol") != token {
		t.Errorf("subprotocol not echoed: %q", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","stream":"user"}`)); err != nil {
		t.Fatal(err)
	}
	wsEvents := make(chan wsEvent, 64)
	go func() {
		defer close(wsEvents)
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var ev wsEvent
			if json.Unmarshal(data, &ev) == nil {
				wsEvents <- ev
			}
		}
	}()
	// SSE with the token in the Authorization header.
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://a.test/api/v1/streaming/user", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	sse, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Body.Close()
	if sse.StatusCode != 200 || !strings.HasPrefix(sse.Header.Get("Content-Type"), "text/event-stream") || sse.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("SSE: %d %s", sse.StatusCode, sse.Header.Get("Content-Type"))
	}
	sseEvents := make(chan sseEvent, 64)
	go readSSE(bufio.NewReader(sse.Body), sseEvents)
	// The subscription is live once the server has the connections.
	eventually(t, "two streaming connections", func() bool { return a.srv.hub.Connections() == 2 })

	st := b.post(bob, activitypub.Draft{Text: "hello @alice@a.test, live"})
	var local string
	eventually(t, "post on a", func() bool {
		s := a.statusByURI(st.URI)
		if s != nil {
			local = s.ID.String()
		}
		return s != nil
	})
	isUpdate := func(event, payload string) bool {
		var s map[string]any
		return event == "update" && json.Unmarshal([]byte(payload), &s) == nil && s["id"] == local && s["uri"] == st.URI
	}
	isMention := func(event, payload string) bool {
		var nt map[string]any
		if event != "notification" || json.Unmarshal([]byte(payload), &nt) != nil {
			return false
		}
		status, _ := nt["status"].(map[string]any)
		return nt["type"] == "mention" && status["id"] == local
	}
	waitFor(t, "update over WebSocket", wsEvents, func(e wsEvent) bool { return isUpdate(e.Event, e.Payload) && e.Stream[0] == "user" })
	waitFor(t, "update over SSE", sseEvents, func(e sseEvent) bool { return isUpdate(e.event, e.data) })
	waitFor(t, "mention over WebSocket", wsEvents, func(e wsEvent) bool { return isMention(e.Event, e.Payload) })
	waitFor(t, "mention over SSE", sseEvents, func(e sseEvent) bool { return isMention(e.event, e.data) })

	if err := b.in().DeleteStatus(t.Context(), bob, st.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delete over WebSocket", wsEvents, func(e wsEvent) bool { return e.Event == "delete" && e.Payload == local })
	waitFor(t, "delete over SSE", sseEvents, func(e sseEvent) bool { return e.event == "delete" && e.data == local })
}

// TestStreaming_streams subscribes one WebSocket to every kind of stream
// and checks each event arrives on the streams it belongs to: public,
// local and hashtag streams for a public post, a list holding its author,
// direct for a direct message, status.update after an edit, and
// filters_changed after a filter change. A list of someone else's is
// refused.
func TestStreaming_streams(t *testing.T) {
	n := newNetwork()
	a := n.start(t, "a.test", t.TempDir())
	alice := a.account("alice", false)
	bob := a.account("bob", false)
	token := apiToken(t, a.srv, alice, "read", "write")
	bobToken := apiToken(t, a.srv, bob, "read", "write")
	client := &http.Client{Transport: &http.Transport{DialContext: n.dial}}
	const base = "http://a.test"
	var follow map[string]any
	callWith(t, client, "POST", base+"/api/v1/accounts/"+bob.ID.String()+"/follow", token, nil, &follow)
	var list, bobsList map[string]any
	callWith(t, client, "POST", base+"/api/v1/lists", token, map[string]any{"title": "friends"}, &list)
	callWith(t, client, "POST", base+"/api/v1/lists/"+list["id"].(string)+"/accounts", token, map[string]any{"account_ids": []string{bob.ID.String()}}, nil)
	callWith(t, client, "POST", base+"/api/v1/lists", bobToken, map[string]any{"title": "mine"}, &bobsList)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://a.test/api/v1/streaming?access_token="+token, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	events := make(chan wsEvent, 256)
	errorsSeen := make(chan map[string]any, 8)
	go func() {
		defer close(events)
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var ev wsEvent
			var e map[string]any
			if json.Unmarshal(data, &e) == nil && e["error"] != nil {
				errorsSeen <- e
				continue
			}
			if json.Unmarshal(data, &ev) == nil {
				events <- ev
			}
		}
	}()
	for _, sub := range []string{
		`{"type":"subscribe","stream":"user"}`,
		`{"type":"subscribe","stream":"public"}`,
		`{"type":"subscribe","stream":"public:local"}`,
		`{"type":"subscribe","stream":"hashtag","tag":"Rhizome"}`,
		`{"type":"subscribe","stream":"list","list":"` + list["id"].(string) + `"}`,
		`{"type":"subscribe","stream":"direct"}`,
		`{"type":"subscribe","stream":"list","list":"` + bobsList["id"].(string) + `"}`,
	} {
		if err := ws.Write(ctx, websocket.MessageText, []byte(sub)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case e := <-errorsSeen:
		if e["status"] != float64(404) {
			t.Errorf("someone else's list: %v", e)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no error for someone else's list")
	}

	var posted map[string]any
	callWith(t, client, "POST", base+"/api/v1/statuses", bobToken, map[string]any{"status": "growing #rhizome"}, &posted)
	id := posted["id"].(string)
	want := map[string]bool{"user": true, "public": true, "public:local": true, "hashtag Rhizome": true, "list " + list["id"].(string): true}
	for len(want) > 0 {
		ev := waitFor(t, "the post on every stream", events, func(e wsEvent) bool { return e.Event == "update" && strings.Contains(e.Payload, id) })
		delete(want, strings.Join(ev.Stream, " "))
	}

	var dm map[string]any
	callWith(t, client, "POST", base+"/api/v1/statuses", bobToken, map[string]any{"status": "@alice psst", "visibility": "direct"}, &dm)
	conv := waitFor(t, "the conversation on the direct stream", events, func(e wsEvent) bool {
		return len(e.Stream) == 1 && e.Stream[0] == "direct" && e.Event == "conversation"
	})
	var c map[string]any
	if err := json.Unmarshal([]byte(conv.Payload), &c); err != nil {
		t.Fatal(err)
	}
	last, _ := c["last_status"].(map[string]any)
	accounts, _ := c["accounts"].([]any)
	if last["id"] != dm["id"] || c["unread"] != true || len(accounts) != 1 || accounts[0].(map[string]any)["id"] != bob.ID.String() {
		t.Errorf("conversation: %v", c)
	}

	callWith(t, client, "PUT", base+"/api/v1/statuses/"+id, bobToken, map[string]any{"status": "grown #rhizome"}, nil)
	waitFor(t, "status.update after the edit", events, func(e wsEvent) bool {
		return e.Event == "status.update" && strings.Contains(e.Payload, "grown")
	})

	callWith(t, client, "POST", base+"/api/v2/filters", token, map[string]any{"title": "no spoilers", "context": []string{"home"},
		"keywords_attributes": []map[string]any{{"keyword": "spoiler"}}}, nil)
	waitFor(t, "filters_changed", events, func(e wsEvent) bool { return e.Event == "filters_changed" && e.Stream[0] == "user" })

	// A post the filter warns about comes with alice's filter results on
	// her home stream, and without them on the public one (the filter is
	// for home only).
	var warned map[string]any
	callWith(t, client, "POST", base+"/api/v1/statuses", bobToken, map[string]any{"status": "a big spoiler"}, &warned)
	seen := map[string]int{}
	for len(seen) < 2 {
		e := waitFor(t, "the warned post on user and public", events, func(e wsEvent) bool {
			return e.Event == "update" && (e.Stream[0] == "user" || e.Stream[0] == "public") && strings.Contains(e.Payload, warned["id"].(string))
		})
		var st map[string]any
		if err := json.Unmarshal([]byte(e.Payload), &st); err != nil {
			t.Fatal(err)
		}
		seen[e.Stream[0]] = len(st["filtered"].([]any))
	}
	if seen["user"] != 1 || seen["public"] != 0 {
		t.Errorf("filter results on user and public: %v", seen)
	}

	// A boost reaches the home stream of bob's follower, but not the
	// public streams; a later public post shows the order.
	callWith(t, client, "POST", base+"/api/v1/statuses/"+id+"/reblog", bobToken, nil, nil)
	waitFor(t, "the boost on the user stream", events, func(e wsEvent) bool {
		if e.Event != "update" || e.Stream[0] != "user" {
			return false
		}
		var st map[string]any
		return json.Unmarshal([]byte(e.Payload), &st) == nil && st["reblog"] != nil
	})
	var marker map[string]any
	callWith(t, client, "POST", base+"/api/v1/statuses", bobToken, map[string]any{"status": "after the boost"}, &marker)
	waitFor(t, "the next public post", events, func(e wsEvent) bool {
		if e.Event != "update" || e.Stream[0] != "public" {
			return false
		}
		var st map[string]any
		if json.Unmarshal([]byte(e.Payload), &st) == nil && st["reblog"] != nil {
			t.Errorf("a boost on the public stream: %s", e.Payload)
		}
		return st["id"] == marker["id"]
	})

	// Revoking the token ends its streaming connection.
	form := url.Values{"client_id": {"client-" + token}, "client_secret": {"secret"}, "token": {token}}
	resp, err := client.PostForm(base+"/oauth/revoke", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	timeout := time.After(30 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-events:
		case <-timeout:
			t.Fatal("the connection outlived its revoked token")
		}
	}
}

// BenchmarkStreaming_postToUpdate measures how long a post made on b takes
// to reach a follower's WebSocket on a: b stores it and queues the
// delivery, signs and POSTs it, a verifies and stores it, and the
// streaming hub renders and sends the update.
func BenchmarkStreaming_postToUpdate(b *testing.B) {
	n := newNetwork()
	a := n.start(b, "a.test", b.TempDir())
	bb := n.start(b, "b.test", b.TempDir())
	alice := a.account("alice", false)
	bob := bb.account("bob", false)
	a.followAndWait(alice, "bob@b.test", bob.URI)
	client := &http.Client{Transport: &http.Transport{DialContext: n.dial}}
	token := apiToken(b, a.srv, alice, "read")
	ctx := b.Context()
	ws, _, err := websocket.Dial(ctx, "ws://a.test/api/v1/streaming?stream=user&access_token="+token, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	eventually(b, "the streaming connection", func() bool { return a.srv.hub.Connections() == 1 })
	i := 0
	for b.Loop() {
		i++
		text := fmt.Sprintf("live post %d", i)
		if _, err := bb.in().PostStatus(ctx, bob, activitypub.Draft{Text: text}); err != nil {
			b.Fatal(err)
		}
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			var ev wsEvent
			var st map[string]any
			if json.Unmarshal(data, &ev) == nil && ev.Event == "update" && json.Unmarshal([]byte(ev.Payload), &st) == nil &&
				st["content"] == "<p>"+text+"</p>" {
				break
			}
		}
	}
}

// BenchmarkStreaming_fanout1000 measures one public post reaching 1,000
// WebSocket clients of one instance through the whole stack: the post is
// stored, its change rendered once, and each connection runs the real
// per-viewer checks (visibility, blocks, mutes, filters) before writing.
func BenchmarkStreaming_fanout1000(b *testing.B) {
	const clients = 1000
	n := newNetwork()
	a := n.start(b, "a.test", b.TempDir())
	bob := a.account("bob", false)
	httpClient := &http.Client{Transport: &http.Transport{DialContext: n.dial, MaxIdleConnsPerHost: clients}}
	ctx := b.Context()
	received := make(chan struct{}, clients)
	for i := range clients {
		viewer := a.account(fmt.Sprintf("viewer%d", i), false)
		token := apiToken(b, a.srv, viewer, "read")
		ws, _, err := websocket.Dial(ctx, "ws://a.test/api/v1/streaming?stream=public&access_token="+token, &websocket.DialOptions{HTTPClient: httpClient})
		if err != nil {
			b.Fatal(err)
		}
		defer ws.CloseNow()
		go func() {
			for {
				_, data, err := ws.Read(ctx)
				if err != nil {
					return
				}
				if bytes.Contains(data, []byte(`"event":"update"`)) {
					received <- struct{}{}
				}
			}
		}()
	}
	eventually(b, "all streaming connections", func() bool { return a.srv.hub.Connections() == clients })
	i := 0
	for b.Loop() {
		i++
		if _, err := a.in().PostStatus(ctx, bob, activitypub.Draft{Text: fmt.Sprintf("to everyone %d", i)}); err != nil {
			b.Fatal(err)
		}
		for range clients {
			<-received
		}
	}
}
