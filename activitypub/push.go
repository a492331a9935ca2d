package activitypub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/rhizome-fed/rhizome/activitypub/webpush"
	"github.com/rhizome-fed/rhizome/storage"
)

// pushState sends Web Push notifications; a zero one sends none.
type pushState struct {
	keys   webpush.Keys
	sender *webpush.Sender
}

// Push policies: whose notifications a subscription wants.
const (
	PushPolicyAll      = "all"
	PushPolicyFollowed = "followed" // from accounts the user follows
	PushPolicyFollower = "follower" // from the user's followers
	PushPolicyNone     = "none"
)

// PushAlerts are the notification types a subscription may ask for.
var PushAlerts = []string{
	storage.NotifyMention, storage.NotifyStatus, storage.NotifyReblog, storage.NotifyFollow,
	storage.NotifyFollowRequest, storage.NotifyFavourite, "poll", storage.NotifyUpdate,
	"admin.sign_up", "admin.report",
}

// maxPushBody is how many characters of a post a push notification shows.
const maxPushBody = 140

// Settings holding the instance's VAPID key pair, made on the first start.
const (
	settingVAPIDPublic  = "vapid_public_key"
	settingVAPIDPrivate = "vapid_private_key"
)

// ensurePushKeys returns the instance's VAPID keys, making them once.
func (in *Instance) ensurePushKeys(ctx context.Context) (webpush.Keys, error) {
	values, err := in.secrets(ctx, []string{settingVAPIDPublic, settingVAPIDPrivate}, func() ([]string, error) {
		keys, err := webpush.GenerateKeys()
		return []string{keys.Public, keys.Private}, err
	})
	if err != nil {
		return webpush.Keys{}, fmt.Errorf("web push keys: %w", err)
	}
	return webpush.Keys{Public: values[0], Private: values[1]}, nil
}

func (in *Instance) setupPush(keys webpush.Keys) {
	if keys.Public == "" {
		return
	}
	// Push services want a contact in the VAPID claims: the instance's
	// address, or (not on https) a mail address at its host.
	subscriber := in.BaseURL() + "/"
	if in.protocol != "https" {
		host, _, _ := strings.Cut(in.domain, ":")
		subscriber = "mailto:push@" + host
	}
	in.push = pushState{keys: keys, sender: &webpush.Sender{Client: in.client, Keys: keys, Subscriber: subscriber}}
}

// PushKey returns the instance's public VAPID key, "" when Web Push is off.
func (in *Instance) PushKey() string { return in.push.keys.Public }

// pushPayload is what a push notification carries, as Mastodon sends it
// (without the access token: we keep only token hashes).
type pushPayload struct {
	NotificationID   string `json:"notification_id"`
	NotificationType string `json:"notification_type"`
	PreferredLocale  string `json:"preferred_locale"`
	Icon             string `json:"icon"`
	Title            string `json:"title"`
	Body             string `json:"body"`
}

// pushTitles are the titles of push notifications by type; %s is the
// acting account's name.
var pushTitles = map[string]string{
	storage.NotifyMention:       "%s mentioned you",
	storage.NotifyStatus:        "%s just posted",
	storage.NotifyReblog:        "%s boosted your post",
	storage.NotifyFollow:        "%s followed you",
	storage.NotifyFollowRequest: "%s requested to follow you",
	storage.NotifyFavourite:     "%s favourited your post",
	storage.NotifyUpdate:        "%s edited a post",
}

// enqueuePush queues a push delivery of n to each of the recipient's
// subscriptions that asked for its type under its policy, in n's own
// transaction: an acknowledged notification's pushes are never lost.
func (in *Instance) enqueuePush(tx *storage.Tx, n *storage.Notification) error {
	if in.push.sender == nil {
		return nil
	}
	subs, err := tx.PushSubscriptionsOf(n.RecipientID)
	if err != nil || len(subs) == 0 {
		return err
	}
	var wanted []*storage.PushSubscription
	for _, sub := range subs {
		if !sub.Wants(n.Type) {
			continue
		}
		ok, err := pushPolicyAllows(tx, sub.Policy, n.RecipientID, n.FromID)
		if err != nil {
			return err
		}
		if ok {
			wanted = append(wanted, sub)
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	body, err := in.renderPush(tx, n)
	if err != nil {
		return err
	}
	ds := make([]storage.Delivery, 0, len(wanted))
	for _, sub := range wanted {
		ds = append(ds, storage.Delivery{ID: in.store.NewID(), Inbox: sub.Endpoint, Activity: "push " + n.ID.String(),
			FirstQueued: n.CreatedAt, Due: n.CreatedAt,
			Push: &storage.PushJob{AccountID: sub.AccountID, TokenHash: sub.TokenHash, NotificationID: n.ID}})
	}
	return in.enqueue(tx, in.store.NewID(), body, ds)
}

func pushPolicyAllows(tx *storage.Tx, policy string, recipient, from storage.ID) (bool, error) {
	switch policy {
	case PushPolicyNone:
		return false, nil
	case PushPolicyFollowed:
		return follows(tx, recipient, from)
	case PushPolicyFollower:
		return follows(tx, from, recipient)
	}
	return true, nil
}

// follows reports an accepted follow.
func follows(tx *storage.Tx, follower, followed storage.ID) (bool, error) {
	f, err := tx.Follow(follower, followed)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil && !f.Pending, err
}

// renderPush builds a notification's payload.
func (in *Instance) renderPush(tx *storage.Tx, n *storage.Notification) ([]byte, error) {
	p := pushPayload{NotificationID: n.ID.String(), NotificationType: n.Type, PreferredLocale: "en"}
	if u, err := tx.User(n.RecipientID); err == nil && u.DefaultLanguage != "" {
		p.PreferredLocale = u.DefaultLanguage
	}
	name := "Someone"
	if from, err := tx.Account(n.FromID); err == nil {
		name = from.DisplayName
		if name == "" {
			name = from.Username
		}
		p.Icon = in.AvatarURL(from)
		p.Body = plainText(from.Note)
	}
	title, ok := pushTitles[n.Type]
	if !ok {
		title = "New notification from %s"
	}
	p.Title = fmt.Sprintf(title, name)
	if n.StatusID != 0 {
		if s, err := tx.Status(n.StatusID); err == nil {
			p.Body = plainText(s.Content)
			if s.Summary != "" {
				p.Body = s.Summary // the content warning, not what it hides
			}
		}
	}
	if r := []rune(p.Body); len(r) > maxPushBody {
		p.Body = string(r[:maxPushBody-1]) + "…"
	}
	return json.Marshal(p)
}

// sendPush encrypts and sends one push delivery. A subscription its push
// service says is gone is removed; the answer is reported as an HTTP
// status for the delivery bookkeeping.
func (in *Instance) sendPush(ctx context.Context, job storage.Delivery, body []byte) (int, string, error) {
	if in.push.sender == nil {
		return 0, "", &permanentError{errors.New("web push is not configured")}
	}
	var sub *storage.PushSubscription
	if err := in.store.View(func(tx *storage.Tx) error {
		var err error
		sub, err = tx.PushSubscription(job.Push.AccountID, job.Push.TokenHash)
		return err
	}); errors.Is(err, storage.ErrNotFound) {
		return http.StatusGone, "", nil // unsubscribed meanwhile: nothing to send
	} else if err != nil {
		return 0, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	err := in.push.sender.Send(ctx, webpush.Subscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}, body, "normal")
	switch {
	case err == nil:
		return http.StatusCreated, "", nil
	case errors.Is(err, webpush.ErrGone):
		if derr := in.store.Batch(context.WithoutCancel(ctx), func(tx *storage.Tx) error {
			current, err := tx.PushSubscription(sub.AccountID, sub.TokenHash)
			if err != nil || current.Endpoint != sub.Endpoint {
				return nil // replaced meanwhile: keep the new one
			}
			return tx.DeletePushSubscription(sub.AccountID, sub.TokenHash)
		}); derr != nil {
			return 0, "", derr
		}
		in.log.InfoContext(ctx, "push subscription gone; removed", "endpoint", hostOf(sub.Endpoint))
		return http.StatusGone, "", nil
	case errors.Is(err, webpush.ErrRejected), errors.Is(err, webpush.ErrPayloadTooLarge):
		var refused *webpush.StatusError
		if errors.As(err, &refused) {
			return refused.StatusCode, "", nil // the push service said no: logged as a refusal
		}
		return 0, "", &permanentError{err} // refused before sending: ours to fix
	}
	if wait, ok := webpush.RetryAfter(err); ok {
		return http.StatusServiceUnavailable, fmt.Sprint(int(wait.Seconds())), nil
	}
	return 0, "", err
}

// plainText flattens sanitised HTML to text for a notification.
func plainText(content string) string {
	var b strings.Builder
	inTag := false
	for _, r := range strings.NewReplacer("</p>", "\n", "<br>", "\n", "<br/>", "\n", "<br />", "\n").Replace(content) {
		switch {
		case r == '<':
			inTag = true
		case r == '>':
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(html.UnescapeString(b.String()))
}
