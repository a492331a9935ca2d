package mastodon

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/activitypub/webpush"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// PushSubscription is Mastodon's WebPushSubscription entity.
type PushSubscription struct {
	ID        string          `json:"id"`
	Endpoint  string          `json:"endpoint"`
	Standard  bool            `json:"standard"`
	Alerts    map[string]bool `json:"alerts"`
	ServerKey string          `json:"server_key"`
	Policy    string          `json:"policy"`
}

func (h *handler) renderPush(p *storage.PushSubscription) PushSubscription {
	alerts := map[string]bool{}
	for _, a := range activitypub.PushAlerts {
		alerts[a] = p.Wants(a)
	}
	return PushSubscription{ID: strconv.FormatInt(p.Number, 10), Endpoint: p.Endpoint, Standard: true, Alerts: alerts,
		ServerKey: h.in.PushKey(), Policy: p.Policy}
}

// pushSettings reads data[alerts][type] and data[policy]; absent ones
// keep the values in current.
func pushSettings(p url.Values, current *storage.PushSubscription) error {
	var alerts []string
	for _, a := range activitypub.PushAlerts {
		on, given := boolParam(p, "data[alerts]["+a+"]")
		if !given {
			on = current.Wants(a)
		}
		if on {
			alerts = append(alerts, a)
		}
	}
	current.Alerts = alerts
	if v, ok := p["data[policy]"]; ok && len(v) > 0 {
		if !slices.Contains([]string{activitypub.PushPolicyAll, activitypub.PushPolicyFollowed,
			activitypub.PushPolicyFollower, activitypub.PushPolicyNone}, v[0]) {
			return &activitypub.InvalidError{Field: "data[policy]", Reason: "must be all, followed, follower or none"}
		}
		current.Policy = v[0]
	}
	return nil
}

// subscribePush serves POST /api/v1/push/subscription: it creates the
// token's subscription, replacing an older one.
func (h *handler) subscribePush(w http.ResponseWriter, r *http.Request) {
	if h.in.PushKey() == "" {
		respond.ErrorMessage(w, http.StatusUnprocessableEntity, "Web Push is not available on this server")
		return
	}
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	ws := webpush.Subscription{Endpoint: p.Get("subscription[endpoint]"),
		P256dh: p.Get("subscription[keys][p256dh]"), Auth: p.Get("subscription[keys][auth]")}
	if err := ws.Validate(h.opts.AllowHTTPPush); err != nil {
		respond.Error(w, r, h.log, &activitypub.InvalidError{Field: "subscription", Reason: err.Error()})
		return
	}
	a := authOf(r)
	sub := &storage.PushSubscription{ID: h.store.NewID(), AccountID: a.account.ID, TokenHash: a.token.Hash,
		Endpoint: ws.Endpoint, P256dh: ws.P256dh, Auth: ws.Auth, Policy: activitypub.PushPolicyAll,
		CreatedAt: time.Now().UTC()}
	if err := pushSettings(p, sub); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	if err := h.store.Batch(r.Context(), func(tx *storage.Tx) error { return tx.PutPushSubscription(sub) }); err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, h.renderPush(sub))
}

func (h *handler) currentPush(r *http.Request) (*storage.PushSubscription, error) {
	a := authOf(r)
	var sub *storage.PushSubscription
	err := h.store.View(func(tx *storage.Tx) error {
		var err error
		sub, err = tx.PushSubscription(a.account.ID, a.token.Hash)
		return err
	})
	return sub, err
}

// getPushSubscription serves GET /api/v1/push/subscription.
func (h *handler) getPushSubscription(w http.ResponseWriter, r *http.Request) {
	sub, err := h.currentPush(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, h.renderPush(sub))
}

// updatePushSubscription serves PUT /api/v1/push/subscription: alerts and
// policy only.
func (h *handler) updatePushSubscription(w http.ResponseWriter, r *http.Request) {
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	a := authOf(r)
	var sub *storage.PushSubscription
	err = h.store.Batch(r.Context(), func(tx *storage.Tx) error {
		current, err := tx.PushSubscription(a.account.ID, a.token.Hash)
		if err != nil {
			return err
		}
		if err := pushSettings(p, current); err != nil {
			return err
		}
		sub = current
		return tx.PutPushSubscription(current)
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, h.renderPush(sub))
}

// deletePushSubscription serves DELETE /api/v1/push/subscription.
func (h *handler) deletePushSubscription(w http.ResponseWriter, r *http.Request) {
	a := authOf(r)
	err := h.store.Batch(r.Context(), func(tx *storage.Tx) error {
		return tx.DeletePushSubscription(a.account.ID, a.token.Hash)
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{})
}
