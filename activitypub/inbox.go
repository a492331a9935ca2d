package activitypub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-fed/activity/pub"
	"github.com/go-fed/activity/streams/vocab"

	"github.com/rhizome-fed/rhizome/storage"
)

// maxInboxBody bounds an inbox POST. Mastodon drops activities over 1 MB.
const maxInboxBody = 1 << 20

// inboxContextKey carries what AuthenticatePostInbox learned to the later
// steps of go-fed's pipeline.
type inboxContextKey struct{}

type inboxRequest struct {
	raw       map[string]any   // the activity as received, with every field go-fed drops
	signer    *storage.Account // owner of the verified key
	recipient *storage.Account // the personal inbox's owner; nil for the shared inbox
}

// internalError marks a failure on our side, as opposed to bad input.
type internalError struct{ err error }

func (e *internalError) Error() string { return e.err.Error() }
func (e *internalError) Unwrap() error { return e.err }

// PostInbox handles an inbox POST: the shared inbox when recipient is nil,
// a local account's inbox otherwise. It runs go-fed's inbox pipeline with
// our delegate: signature and Digest checks, then JSON into streams types,
// then the activity's effects, which are durable before the peer gets its
// 2xx. It writes the response itself unless it returns an error, which the
// caller maps to a status (401 for ErrSignature, 403 for ErrForbidden, 400
// for a BadRequestError).
func (in *Instance) PostInbox(w http.ResponseWriter, r *http.Request, recipient *storage.Account) error {
	ctx := context.WithValue(r.Context(), inboxContextKey{}, &inboxRequest{recipient: recipient})
	r = r.WithContext(ctx)
	handled, err := in.fedActor().PostInbox(ctx, acceptedWriter{w}, r)
	if err == nil && !handled {
		return &BadRequestError{"an inbox accepts only application/activity+json or application/ld+json POSTs"}
	}
	var internal *internalError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrSignature), errors.Is(err, ErrForbidden):
		return err
	case errors.As(err, &internal):
		return internal.err
	}
	var big *http.MaxBytesError
	if errors.As(err, &big) {
		return err
	}
	// JSON, vocabulary and shape errors from go-fed: the peer sent
	// something we cannot read.
	return &BadRequestError{"cannot read the activity: " + err.Error()}
}

// acceptedWriter answers 202 Accepted where go-fed writes 200, as Mastodon
// and GoToSocial answer inbox deliveries.
type acceptedWriter struct{ http.ResponseWriter }

func (w acceptedWriter) WriteHeader(code int) {
	if code == http.StatusOK {
		code = http.StatusAccepted
	}
	w.ResponseWriter.WriteHeader(code)
}

// fedActor is the go-fed actor wrapped around our delegate.
func (in *Instance) fedActor() pub.FederatingActor {
	in.gofedOnce.Do(func() {
		in.gofed = pub.NewCustomActor(&delegate{in: in}, false, true, clock{in.now})
	})
	return in.gofed
}

type clock struct{ now func() time.Time }

func (c clock) Now() time.Time { return c.now() }

// delegate is our pub.DelegateActor. Only the inbox side is used: outgoing
// activities are built and queued by the local actions themselves.
type delegate struct {
	in *Instance
}

var _ pub.DelegateActor = (*delegate)(nil)

func inboxState(ctx context.Context) *inboxRequest {
	st, _ := ctx.Value(inboxContextKey{}).(*inboxRequest)
	return st
}

// AuthenticatePostInbox verifies the HTTP signature, Digest and Date, and
// finds the signer. It reads the body and puts it back for go-fed.
func (d *delegate) AuthenticatePostInbox(ctx context.Context, w http.ResponseWriter, r *http.Request) (context.Context, bool, error) {
	st := inboxState(ctx)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInboxBody))
	if err != nil {
		return ctx, false, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := json.Unmarshal(body, &st.raw); err != nil {
		return ctx, false, &BadRequestError{"body is not a JSON object"}
	}
	in := d.in
	// A deleted account's Delete of itself can never be verified (its key
	// is gone). Unknown to us, it concerns nothing we hold: acknowledge it.
	if stringProp(st.raw, "type") == "Delete" && stringProp(st.raw, "actor") != "" &&
		stringProp(st.raw, "actor") == stringProp(st.raw, "object") && !in.knowsActor(stringProp(st.raw, "actor")) {
		w.WriteHeader(http.StatusAccepted)
		return ctx, false, nil
	}
	params, err := parseSignature(r, body, in.now())
	if err != nil {
		return ctx, false, err
	}
	pub, signer, err := in.publicKey(ctx, params.KeyID, false)
	if err != nil {
		if errors.Is(err, ErrSignature) || errors.Is(err, ErrFetch) || errors.Is(err, ErrGone) || errors.Is(err, ErrPrivateAddress) {
			return ctx, false, fmt.Errorf("%w: key %s: %w", ErrSignature, params.KeyID, err)
		}
		return ctx, false, &internalError{err}
	}
	if err := verifySignature(r, params, pub); err != nil {
		// The key may have rotated: fetch it once more (at most every few
		// minutes per key).
		if !in.mayRefetchKey(params.KeyID) {
			return ctx, false, err
		}
		pub, signer, err = in.publicKey(ctx, params.KeyID, true)
		if err != nil {
			return ctx, false, fmt.Errorf("%w: key %s: %w", ErrSignature, params.KeyID, err)
		}
		if err := verifySignature(r, params, pub); err != nil {
			return ctx, false, err
		}
	}
	st.signer = signer
	if !knownActivityTypes[stringProp(st.raw, "type")] {
		// Verified, but of a type go-fed cannot parse (EmojiReact,
		// ChatMessage ...): acknowledge it rather than have the peer retry.
		in.log.DebugContext(ctx, "activity type not understood; acknowledged", "type", stringProp(st.raw, "type"), "actor", signer.URI)
		w.WriteHeader(http.StatusAccepted)
		return ctx, false, nil
	}
	return ctx, true, nil
}

// knownActivityTypes are the ActivityStreams activity types go-fed
// v1.0.0 parses.
var knownActivityTypes = map[string]bool{
	"Accept": true, "Add": true, "Announce": true, "Arrive": true, "Block": true, "Create": true, "Delete": true,
	"Dislike": true, "Flag": true, "Follow": true, "Ignore": true, "Invite": true, "Join": true, "Leave": true,
	"Like": true, "Listen": true, "Move": true, "Offer": true, "Question": true, "Read": true, "Reject": true,
	"Remove": true, "TentativeAccept": true, "TentativeReject": true, "Travel": true, "Undo": true,
	"Update": true, "View": true,
}

// PostInboxRequestBodyHook requires the activity's actor to be the key's
// owner: a signature proves who sent the request, not who the activity
// claims to be from.
func (d *delegate) PostInboxRequestBodyHook(ctx context.Context, r *http.Request, a pub.Activity) (context.Context, error) {
	st := inboxState(ctx)
	actor := stringProp(st.raw, "actor")
	if actor == "" || actor != st.signer.URI {
		return ctx, fmt.Errorf("%w: activity actor %q is not the signer %s", ErrSignature, actor, st.signer.URI)
	}
	if id, err := url.Parse(stringProp(st.raw, "id")); err != nil || !strings.EqualFold(id.Host, st.signer.Domain) {
		return ctx, fmt.Errorf("%w: activity id %q is not on the actor's host", ErrForbidden, stringProp(st.raw, "id"))
	}
	return ctx, nil
}

// AuthorizePostInbox refuses suspended senders, and senders that the
// owner of a personal inbox blocks.
func (d *delegate) AuthorizePostInbox(ctx context.Context, w http.ResponseWriter, a pub.Activity) (bool, error) {
	st := inboxState(ctx)
	if st.signer.Suspended {
		return false, fmt.Errorf("%w: %s is suspended", ErrForbidden, st.signer.URI)
	}
	if st.recipient != nil {
		var blocked bool
		err := d.in.store.View(func(tx *storage.Tx) error {
			var err error
			blocked, err = tx.Blocks(st.recipient.ID, st.signer.ID)
			return err
		})
		if err != nil {
			return false, &internalError{err}
		}
		if blocked {
			return false, fmt.Errorf("%w: %s is blocked by %s", ErrForbidden, st.signer.URI, st.recipient.URI)
		}
	}
	return true, nil
}

// PostInbox applies the activity's effects.
func (d *delegate) PostInbox(ctx context.Context, _ *url.URL, a pub.Activity) error {
	st := inboxState(ctx)
	if err := d.in.applyInbound(ctx, st, a.GetTypeName()); err != nil {
		var bad *BadRequestError
		if errors.As(err, &bad) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrSignature) {
			return err
		}
		return &internalError{err}
	}
	return nil
}

// InboxForwarding is not done yet: forwarding needs the conversation
// ownership checks of replies.
func (d *delegate) InboxForwarding(context.Context, *url.URL, pub.Activity) error { return nil }

// The outbox side of the delegate is unused: the client-to-server protocol
// is off and local actions deliver through our queue, not pub.Send.

func (d *delegate) PostOutboxRequestBodyHook(ctx context.Context, _ *http.Request, _ vocab.Type) (context.Context, error) {
	return ctx, nil
}
func (d *delegate) AuthenticatePostOutbox(ctx context.Context, w http.ResponseWriter, _ *http.Request) (context.Context, bool, error) {
	w.WriteHeader(http.StatusMethodNotAllowed)
	return ctx, false, nil
}
func (d *delegate) AuthenticateGetInbox(ctx context.Context, w http.ResponseWriter, _ *http.Request) (context.Context, bool, error) {
	w.WriteHeader(http.StatusMethodNotAllowed)
	return ctx, false, nil
}
func (d *delegate) AuthenticateGetOutbox(ctx context.Context, w http.ResponseWriter, _ *http.Request) (context.Context, bool, error) {
	w.WriteHeader(http.StatusMethodNotAllowed)
	return ctx, false, nil
}
func (d *delegate) PostOutbox(context.Context, pub.Activity, *url.URL, map[string]any) (bool, error) {
	return false, errors.New("activitypub: the client-to-server outbox is not supported")
}
func (d *delegate) AddNewIDs(context.Context, pub.Activity) error { return nil }
func (d *delegate) Deliver(context.Context, *url.URL, pub.Activity) error {
	return errors.New("activitypub: deliveries go through the queue, not pub.Send")
}
func (d *delegate) WrapInCreate(context.Context, vocab.Type, *url.URL) (vocab.ActivityStreamsCreate, error) {
	return nil, errors.New("activitypub: WrapInCreate is not used")
}
func (d *delegate) GetOutbox(context.Context, *http.Request) (vocab.ActivityStreamsOrderedCollectionPage, error) {
	return nil, errors.New("activitypub: outboxes are served by the web package")
}
func (d *delegate) GetInbox(context.Context, *http.Request) (vocab.ActivityStreamsOrderedCollectionPage, error) {
	return nil, errors.New("activitypub: inboxes cannot be read")
}

// knowsActor reports whether uri is an actor we have stored.
func (in *Instance) knowsActor(uri string) bool {
	err := in.store.View(func(tx *storage.Tx) error {
		_, err := tx.AccountByURI(uri)
		return err
	})
	return err == nil
}

// VerifyRequest checks the HTTP signature of a request without a body (a
// signed GET): headers signed, Date window, the key fetched and cached,
// refetched once on failure. It returns the signer.
func (in *Instance) VerifyRequest(ctx context.Context, r *http.Request) (*storage.Account, error) {
	params, err := parseSignature(r, nil, in.now())
	if err != nil {
		return nil, err
	}
	pub, signer, err := in.publicKey(ctx, params.KeyID, false)
	if err != nil {
		return nil, fmt.Errorf("%w: key %s: %w", ErrSignature, params.KeyID, err)
	}
	if err := verifySignature(r, params, pub); err == nil {
		return signer, nil
	} else if !in.mayRefetchKey(params.KeyID) {
		return nil, err
	}
	if pub, signer, err = in.publicKey(ctx, params.KeyID, true); err != nil {
		return nil, fmt.Errorf("%w: key %s: %w", ErrSignature, params.KeyID, err)
	}
	if err := verifySignature(r, params, pub); err != nil {
		return nil, err
	}
	return signer, nil
}
