package webpushtest

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub/webpush"
)

// maxMessage is the largest body accepted, the 4096 bytes RFC 8291 section 4
// requires push services to take.
const maxMessage = 4096

// endpointPrefix starts the path of every endpoint.
const endpointPrefix = "/push/"

// Received is one message the service accepted.
type Received struct {
	Endpoint      string // the subscription's endpoint
	Plaintext     []byte // the decrypted payload
	TTL           string // TTL header
	Urgency       string // Urgency header, "" when absent
	Authorization string // Authorization header as sent
	VAPIDSubject  string // the JWT's sub claim, e.g. "mailto:admin@a.test"
	VAPIDKey      string // the k parameter: the sender's VAPID public key
}

// Service is a Web Push service on a real loopback listener. Its methods
// are safe for concurrent use.
type Service struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	endpoints map[string]*endpoint // by path ID
	received  []Received
	errs      []error
	changed   chan struct{} // closed and replaced when received or errs grows
}

// endpoint is one subscription's client side.
type endpoint struct {
	key    *ecdh.PrivateKey
	auth   []byte
	status int // answer instead of accepting, 0: accept
	header http.Header
}

// NewService starts a push service that stops when the test ends.
func NewService(t testing.TB) *Service {
	t.Helper()
	s := &Service{
		t:         t,
		endpoints: make(map[string]*endpoint),
		changed:   make(chan struct{}),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the service's base URL, e.g. "http://127.0.0.1:40123".
func (s *Service) URL() string { return s.srv.URL }

// NewSubscription makes a client key pair (ECDH P-256) and a random 16-byte
// authentication secret, and an endpoint on the service for them. It
// returns the subscription the client would register with the server; the
// keys are base64url without padding, as browsers give them.
func (s *Service) NewSubscription() webpush.Subscription {
	s.t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		s.t.Fatalf("webpushtest: generate client key: %v", err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	id := rand.Text()
	s.mu.Lock()
	s.endpoints[id] = &endpoint{key: key, auth: auth}
	s.mu.Unlock()
	return webpush.Subscription{
		Endpoint: s.srv.URL + endpointPrefix + id,
		P256dh:   base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(auth),
	}
}

// Gone makes sub's endpoint answer 410 Gone from now on, as after the user
// unsubscribed.
func (s *Service) Gone(sub webpush.Subscription) {
	s.t.Helper()
	s.Answer(sub, http.StatusGone, nil)
}

// Answer makes sub's endpoint answer status, with header, to every message
// from now on, without checking or recording it; status 0 restores normal
// service. It calls t.Fatal when sub is not one of this service's.
func (s *Service) Answer(sub webpush.Subscription, status int, header http.Header) {
	s.t.Helper()
	id, ok := s.endpointID(sub.Endpoint)
	s.mu.Lock()
	defer s.mu.Unlock()
	ep := s.endpoints[id]
	if !ok || ep == nil {
		s.t.Fatalf("webpushtest: %q is not an endpoint of this service", sub.Endpoint)
		return
	}
	ep.status, ep.header = status, header.Clone()
}

// Received returns a copy of the messages accepted so far, in arrival order.
func (s *Service) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.receivedLocked()
}

func (s *Service) receivedLocked() []Received {
	out := make([]Received, len(s.received))
	for i, m := range s.received {
		m.Plaintext = bytes.Clone(m.Plaintext)
		out[i] = m
	}
	return out
}

// Errors returns the problems found in messages the service refused.
func (s *Service) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.errs)
}

// Wait returns the accepted messages once there are at least n, or an error
// naming the refused messages when ctx ends first.
func (s *Service) Wait(ctx context.Context, n int) ([]Received, error) {
	for {
		s.mu.Lock()
		if len(s.received) >= n {
			got := s.receivedLocked()
			s.mu.Unlock()
			return got, nil
		}
		have, errs, changed := len(s.received), slices.Clone(s.errs), s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			refused := "none"
			if len(errs) > 0 {
				refused = errors.Join(errs...).Error()
			}
			return nil, fmt.Errorf("webpushtest: %d of %d messages received; refused: %s: %w", have, n, refused, ctx.Err())
		}
	}
}

func (s *Service) endpointID(endpoint string) (string, bool) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(u.Path, endpointPrefix)
}

// serveHTTP is the push service's one route: POST /push/<id>.
func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	id, _ := strings.CutPrefix(r.URL.Path, endpointPrefix)
	s.mu.Lock()
	ep := s.endpoints[id]
	var status int
	var header http.Header
	if ep != nil {
		status, header = ep.status, ep.header
	}
	s.mu.Unlock()

	if ep == nil {
		s.refuse(w, http.StatusNotFound, fmt.Errorf("webpushtest: %s %s: no such endpoint", r.Method, r.URL.Path))
		return
	}
	if status != 0 {
		maps.Copy(w.Header(), header)
		w.WriteHeader(status)
		return
	}
	if r.Method != http.MethodPost {
		s.refuse(w, http.StatusMethodNotAllowed, fmt.Errorf("webpushtest: %s %s: want POST", r.Method, r.URL.Path))
		return
	}
	m, code, err := s.accept(r, ep)
	if err != nil {
		s.refuse(w, code, fmt.Errorf("webpushtest: POST %s: %w", r.URL.Path, err))
		return
	}
	s.mu.Lock()
	s.received = append(s.received, m)
	n := len(s.received)
	s.notifyLocked()
	s.mu.Unlock()
	w.Header().Set("Location", s.srv.URL+"/message/"+strconv.Itoa(n))
	w.WriteHeader(http.StatusCreated)
}

// accept checks and decrypts one message, or returns the status to answer.
func (s *Service) accept(r *http.Request, ep *endpoint) (Received, int, error) {
	m := Received{
		Endpoint:      s.srv.URL + r.URL.Path,
		TTL:           r.Header.Get("TTL"),
		Urgency:       r.Header.Get("Urgency"),
		Authorization: r.Header.Get("Authorization"),
	}
	if _, err := strconv.ParseUint(m.TTL, 10, 32); err != nil {
		return m, http.StatusBadRequest, fmt.Errorf("TTL header %q is not a number of seconds", m.TTL)
	}
	switch m.Urgency {
	case "", "very-low", "low", "normal", "high":
	default:
		return m, http.StatusBadRequest, fmt.Errorf("urgency %q is not very-low, low, normal or high", m.Urgency)
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		return m, http.StatusBadRequest, fmt.Errorf("content encoding %q, want aes128gcm", ce)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMessage+1))
	if err != nil {
		return m, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxMessage {
		return m, http.StatusRequestEntityTooLarge, fmt.Errorf("body is over %d bytes", maxMessage)
	}
	origin := "http://" + r.Host
	if r.TLS != nil {
		origin = "https://" + r.Host
	}
	v, err := verifyVAPID(m.Authorization, origin, time.Now())
	if err != nil {
		return m, http.StatusBadRequest, fmt.Errorf("VAPID: %w", err)
	}
	m.VAPIDSubject, m.VAPIDKey = v.subject, v.key
	m.Plaintext, err = decrypt(body, ep.key, ep.auth)
	if err != nil {
		return m, http.StatusBadRequest, fmt.Errorf("decrypt: %w", err)
	}
	return m, http.StatusCreated, nil
}

// refuse records err and answers code.
func (s *Service) refuse(w http.ResponseWriter, code int, err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.notifyLocked()
	s.mu.Unlock()
	http.Error(w, err.Error(), code)
}

func (s *Service) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}
