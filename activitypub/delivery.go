package activitypub

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// Delivery policy. Attempts back off exponentially with jitter; a host
// that fails hostFailureThreshold times in a row is backed off as a whole.
const (
	deliveryFirstBackoff  = 30 * time.Second
	deliveryMaxBackoff    = 6 * time.Hour
	hostFailureThreshold  = 3
	deliveryTimeout       = 30 * time.Second
	deliveryScanBatch     = 2048
	deliveryLease         = 5 * time.Minute
	deliveryIdleRecheck   = time.Minute
	defaultDeliveryMaxAge = 72 * time.Hour
	defaultWorkers        = 8
	defaultPerHost        = 2
)

// deliveryBackoff is the wait before attempt n+1 (n ≥ 1): base (30 s by
// default) doubling per attempt, capped at 6 h, ±25% jitter so retries to
// one host spread out.
func deliveryBackoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < deliveryMaxBackoff; i++ {
		d *= 2
	}
	d = min(d, deliveryMaxBackoff)
	jitter := time.Duration(rand.Int64N(int64(d)/2)) - d/4
	return d + jitter
}

// deliveryOutcome classifies the answer to a delivery attempt.
type deliveryOutcome int

const (
	delivered deliveryOutcome = iota
	deliveryFinalFailure
	deliveryRetry
)

// classifyDelivery follows Mastodon's split: 2xx is done; 401, 408, 429 and
// 5xx other than 501 are worth retrying (401 because the peer may hold a
// stale copy of our key); every other 4xx and 501 is final.
func classifyDelivery(status int) deliveryOutcome {
	switch {
	case status >= 200 && status < 300:
		return delivered
	case status == http.StatusUnauthorized, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return deliveryRetry
	case status == http.StatusNotImplemented:
		return deliveryFinalFailure
	case status >= 400 && status < 500:
		return deliveryFinalFailure
	}
	return deliveryRetry
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && secs > 0 {
		return min(time.Duration(secs)*time.Second, deliveryMaxBackoff)
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return min(t.Sub(now), deliveryMaxBackoff)
	}
	return 0
}

// newDeliveries prepares one delivery per inbox, with IDs allocated now:
// call it before the transaction that enqueues them, which may run twice.
func (in *Instance) newDeliveries(activityID string, signer storage.ID, inboxes []string) (storage.ID, []storage.Delivery) {
	now := in.now().UTC()
	ds := make([]storage.Delivery, 0, len(inboxes))
	for _, inbox := range inboxes {
		ds = append(ds, storage.Delivery{
			ID: in.store.NewID(), Due: now, Inbox: inbox, SignerID: signer,
			Activity: activityID, FirstQueued: now,
		})
	}
	return in.store.NewID(), ds
}

// enqueue writes prepared deliveries in tx and wakes the workers once tx
// commits.
func (in *Instance) enqueue(tx *storage.Tx, bodyID storage.ID, body []byte, ds []storage.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	// Copy: EnqueueDeliveries sets BodyID and the function may run again.
	batch := append([]storage.Delivery(nil), ds...)
	if err := tx.EnqueueDeliveries(bodyID, body, batch); err != nil {
		return err
	}
	tx.OnCommit(in.pokeDelivery)
	return nil
}

// pokeDelivery wakes the delivery scheduler without blocking.
func (in *Instance) pokeDelivery() {
	select {
	case in.delivery.poke <- struct{}{}:
	default:
	}
}

// deliveryState is the scheduler's in-memory bookkeeping.
type deliveryState struct {
	poke     chan struct{}
	workers  int
	perHost  int
	maxAge   time.Duration
	base     time.Duration // first retry wait
	mu       sync.Mutex
	signers  map[storage.ID]crypto.PrivateKey
	inFlight map[storage.ID]bool
	hosts    map[string]int
}

// RunDelivery sends queued deliveries until ctx ends, then waits for the
// attempts in flight. Deliveries due while the server was down, or left
// unfinished by a crash, are sent when it runs again.
func (in *Instance) RunDelivery(ctx context.Context) {
	d := &in.delivery
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan struct{}, d.workers)
	for {
		next, err := in.dispatchDue(ctx, &wg, done)
		if err != nil {
			in.log.ErrorContext(ctx, "delivery queue scan failed", "err", err)
			next = in.now().Add(deliveryIdleRecheck)
		}
		wait := deliveryIdleRecheck
		if !next.IsZero() {
			wait = min(deliveryIdleRecheck, max(0, next.Sub(in.now())))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-d.poke:
		case <-done:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// dispatchDue claims due deliveries within the concurrency limits, starts
// them, and returns when to look again: now when there may be more to
// start, zero when the limits are reached (a finishing attempt wakes the
// scheduler), or when the next delivery is due.
func (in *Instance) dispatchDue(ctx context.Context, wg *sync.WaitGroup, done chan<- struct{}) (time.Time, error) {
	d := &in.delivery
	now := in.now()
	var due []storage.Delivery
	var next time.Time
	hostStates := map[string]storage.HostState{}
	err := in.store.View(func(tx *storage.Tx) error {
		var err error
		due, next, err = tx.DueDeliveries(now, deliveryScanBatch)
		if err != nil {
			return err
		}
		for _, job := range due {
			host := queueHost(job)
			if _, ok := hostStates[host]; !ok {
				if hostStates[host], err = tx.DeliveryHost(host); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	var start, deferred []storage.Delivery // deferred: due, but their host is backed off
	capacityBound := false
	d.mu.Lock()
	reserved := map[string]int{}
	for _, job := range due {
		host := queueHost(job)
		switch {
		case d.inFlight[job.ID]:
		case hostStates[host].RetryAt.After(now):
			deferred = append(deferred, job)
		case len(d.inFlight)+len(start) >= d.workers || d.hosts[host]+reserved[host] >= d.perHost:
			capacityBound = true
		default:
			start = append(start, job)
			reserved[host]++
		}
	}
	d.mu.Unlock()
	if len(start) == 0 && len(deferred) == 0 {
		if capacityBound {
			return time.Time{}, nil
		}
		return next, nil
	}
	// Claim: move each started job to now+lease in one transaction. A job
	// already gone (finished since the snapshot) is skipped; a job claimed
	// by a crashed process comes back when its lease runs out.
	var claimed []storage.Delivery
	if err := in.store.Batch(ctx, func(tx *storage.Tx) error {
		claimed = claimed[:0]
		for _, job := range start {
			moved := job
			moved.Due = now.Add(deliveryLease)
			if err := tx.RescheduleDelivery(job.Due, &moved); errors.Is(err, storage.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			claimed = append(claimed, moved)
		}
		for _, job := range deferred {
			moved := job
			moved.Due = hostStates[queueHost(job)].RetryAt
			if err := tx.RescheduleDelivery(job.Due, &moved); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		return nil
	}); err != nil {
		return time.Time{}, err
	}
	d.mu.Lock()
	for _, job := range claimed {
		host := queueHost(job)
		d.inFlight[job.ID] = true
		d.hosts[host]++
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.attemptDelivery(ctx, job)
			d.mu.Lock()
			delete(d.inFlight, job.ID)
			d.hosts[host]--
			if d.hosts[host] == 0 {
				delete(d.hosts, host)
			}
			d.mu.Unlock()
			select {
			case done <- struct{}{}:
			default:
			}
		}()
	}
	d.mu.Unlock()
	if capacityBound {
		return time.Time{}, nil
	}
	return now, nil // look again: more may be due behind what was started
}

// queueHost is the key deliveries share their concurrency limit and
// backoff under: the inbox's host, or for Web Push the one subscription,
// so a failing subscription never holds back others on the same push
// service.
func queueHost(job storage.Delivery) string {
	if job.Push != nil {
		sum := sha256.Sum256([]byte(job.Inbox))
		return "push:" + hex.EncodeToString(sum[:8])
	}
	return hostOf(job.Inbox)
}

// logTarget is what logs name as a delivery's target: a push endpoint is
// a secret, so only its host.
func logTarget(job storage.Delivery) string {
	if job.Push != nil {
		return "push via " + hostOf(job.Inbox)
	}
	return job.Inbox
}

func hostOf(inbox string) string {
	u, err := url.Parse(inbox)
	if err != nil {
		return inbox
	}
	return strings.ToLower(u.Host)
}

// attemptDelivery POSTs one delivery and records the outcome.
func (in *Instance) attemptDelivery(ctx context.Context, job storage.Delivery) {
	log := in.log.With("inbox", logTarget(job), "activity", job.Activity, "attempt", job.Attempt+1)
	start := in.now()
	status, retryHeader, postErr := in.post(ctx, job)
	if ctx.Err() != nil {
		// Shutting down: the attempt was cut short, not refused. Give the
		// claim back so the next start sends it at once.
		back := job
		back.Due = in.now()
		if err := in.store.Batch(context.WithoutCancel(ctx), func(tx *storage.Tx) error {
			return tx.RescheduleDelivery(job.Due, &back)
		}); err != nil && !errors.Is(err, storage.ErrNotFound) {
			log.ErrorContext(ctx, "returning a delivery to the queue failed", "err", err)
		}
		return
	}
	ctx = context.WithoutCancel(ctx)
	outcome := deliveryRetry
	var permanent *permanentError
	switch {
	case errors.As(postErr, &permanent):
		outcome = deliveryFinalFailure
	case postErr == nil:
		outcome = classifyDelivery(status)
	}
	now := in.now()
	host := queueHost(job)
	record := func(tx *storage.Tx) error {
		hs, err := tx.DeliveryHost(host)
		if err != nil {
			return err
		}
		switch outcome {
		case delivered, deliveryFinalFailure:
			if permanent == nil {
				// The host answers: it is no longer backed off.
				if err := tx.PutDeliveryHost(host, storage.HostState{}); err != nil {
					return err
				}
			}
			return tx.FinishDelivery(&job)
		}
		hs.Failures++
		if hs.Failures >= hostFailureThreshold {
			hs.RetryAt = now.Add(deliveryBackoff(in.delivery.base, hs.Failures-hostFailureThreshold+1))
		}
		if err := tx.PutDeliveryHost(host, hs); err != nil {
			return err
		}
		if now.Sub(job.FirstQueued) > in.delivery.maxAge {
			return tx.FinishDelivery(&job)
		}
		moved := job
		moved.Attempt++
		moved.Due = now.Add(max(deliveryBackoff(in.delivery.base, moved.Attempt), retryAfter(retryHeader, now)))
		if postErr != nil {
			moved.LastError = postErr.Error()
		} else {
			moved.LastError = "status " + strconv.Itoa(status)
		}
		return tx.RescheduleDelivery(job.Due, &moved)
	}
	if werr := in.store.Batch(ctx, record); werr != nil {
		log.ErrorContext(ctx, "recording delivery outcome failed", "err", werr)
		return
	}
	switch {
	case outcome == delivered:
		log.DebugContext(ctx, "delivered", "status", status, "took", now.Sub(start))
	case permanent != nil:
		log.ErrorContext(ctx, "delivery impossible; dropped", "err", postErr)
	case outcome == deliveryFinalFailure:
		log.WarnContext(ctx, "delivery refused; not retrying", "status", status)
	case now.Sub(job.FirstQueued) > in.delivery.maxAge:
		log.WarnContext(ctx, "delivery given up", "status", status, "err", postErr, "queued", job.FirstQueued)
	default:
		log.InfoContext(ctx, "delivery failed; will retry", "status", status, "err", postErr)
	}
}

// permanentError marks a delivery that can never succeed on our side (no
// body, no key, an inbox URL we refuse): retrying would not help.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// post sends one signed delivery and returns the status and Retry-After.
func (in *Instance) post(ctx context.Context, job storage.Delivery) (int, string, error) {
	var body []byte
	if err := in.store.View(func(tx *storage.Tx) error {
		var err error
		body, err = tx.DeliveryBody(job.BodyID)
		return err
	}); err != nil {
		return 0, "", &permanentError{err}
	}
	if job.Push != nil {
		return in.sendPush(ctx, job, body)
	}
	key, keyID, err := in.signerKey(job.SignerID)
	if err != nil {
		return 0, "", &permanentError{err}
	}
	u, err := url.Parse(job.Inbox)
	if err != nil {
		return 0, "", &permanentError{err}
	}
	if err := in.checkRemoteURL(u); err != nil {
		return 0, "", &permanentError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.Inbox, bytes.NewReader(body))
	if err != nil {
		return 0, "", &permanentError{err}
	}
	req.Header.Set("Content-Type", "application/activity+json")
	req.Header.Set("User-Agent", in.agent)
	if err := signRequest(req, body, keyID, key, in.now()); err != nil {
		return 0, "", &permanentError{err}
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// signerKey returns the parsed private key of a local account and its key
// id, cached after the first use.
func (in *Instance) signerKey(id storage.ID) (crypto.PrivateKey, string, error) {
	d := &in.delivery
	var a *storage.Account
	var pemKey string
	if err := in.store.View(func(tx *storage.Tx) error {
		var err error
		if a, err = tx.Account(id); err != nil {
			return err
		}
		pemKey, err = tx.PrivateKey(id)
		return err
	}); err != nil {
		return nil, "", fmt.Errorf("signer %s: %w", id, err)
	}
	d.mu.Lock()
	key, ok := d.signers[id]
	d.mu.Unlock()
	if ok {
		return key, a.PublicKeyID, nil
	}
	key, err := parsePrivateKeyPEM(pemKey)
	if err != nil {
		return nil, "", fmt.Errorf("signer %s: %w", id, err)
	}
	d.mu.Lock()
	d.signers[id] = key
	d.mu.Unlock()
	return key, a.PublicKeyID, nil
}
