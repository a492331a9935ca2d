package web

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// BenchmarkInbox_signedCreate measures handling one signed Create{Note}
// end to end on a whole instance: the HTTP request over loopback, the
// signature, Digest and Date checks (the sender's key is cached), go-fed's
// parsing, storing the status and adding it to a follower's home timeline.
// Signing the request is outside the timer.
func BenchmarkInbox_signedCreate(b *testing.B) {
	n := newNetwork()
	a := n.start(b, "a.test", b.TempDir())
	bb := n.start(b, "b.test", b.TempDir())
	alice := a.account("alice", false)
	bob := bb.account("bob", false)
	bb.followAndWait(bob, "alice@a.test", alice.URI)
	key := privateKeyOf(b, a, alice)
	client := &http.Client{Transport: &http.Transport{DialContext: n.dial}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		id := fmt.Sprintf("http://a.test/users/alice/statuses/bench%d", i)
		body := []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Create","actor":%q,`+
			`"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":[%q],"object":{"id":%q,"type":"Note","attributedTo":%q,`+
			`"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":[%q],"content":"<p>post %d</p>","published":%q}}`,
			id+"/activity", alice.URI, alice.FollowersURI, id, alice.URI, alice.FollowersURI, i, time.Now().UTC().Format(time.RFC3339)))
		req, _ := http.NewRequest(http.MethodPost, "http://b.test/inbox", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/activity+json")
		signOrFail(b, req, body, alice.PublicKeyID, key, time.Now())
		b.StartTimer()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.StopTimer()
	if got := len(bb.home(bob)); got < b.N {
		b.Fatalf("bob's home timeline holds %d statuses after %d posts", got, b.N)
	}
}
