package activitypub

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// statusAndAuthor loads a status and its author.
func (in *Instance) statusAndAuthor(id storage.ID) (*storage.Status, *storage.Account, error) {
	var st *storage.Status
	var author *storage.Account
	err := in.store.View(func(tx *storage.Tx) error {
		var err error
		if st, err = tx.Status(id); err != nil {
			return err
		}
		author, err = tx.Account(st.AccountID)
		return err
	})
	return st, author, err
}

// VisibleTo reports whether viewer (nil: anonymous) may see st: public
// and unlisted statuses, a followers-only one of an account it follows,
// one that mentions it, or its own; never one of a suspended account, or
// when a block stands between the two; a boost only when its original is
// visible too.
func VisibleTo(tx *storage.Tx, st *storage.Status, viewer *storage.Account) bool {
	if st.ReblogOfID != 0 {
		// A boost shows its original: both must be visible.
		original, err := tx.Status(st.ReblogOfID)
		if err != nil || !VisibleTo(tx, original, viewer) {
			return false
		}
	}
	if viewer != nil && st.AccountID == viewer.ID {
		return true
	}
	if author, err := tx.Account(st.AccountID); err != nil || author.Suspended {
		return false
	}
	if viewer != nil {
		// Blocks hide both ways.
		if blocked, err := tx.Blocks(st.AccountID, viewer.ID); err != nil || blocked {
			return false
		}
		if blocked, err := tx.Blocks(viewer.ID, st.AccountID); err != nil || blocked {
			return false
		}
	}
	switch {
	case st.Visibility == storage.VisibilityPublic, st.Visibility == storage.VisibilityUnlisted:
		return true
	case viewer == nil:
		return false
	case slices.Contains(st.Mentions, viewer.ID):
		return true
	case st.Visibility == storage.VisibilityPrivate:
		f, err := tx.Follow(viewer.ID, st.AccountID)
		return err == nil && !f.Pending
	}
	return false
}

// visibleTo is VisibleTo for an acting account.
func visibleTo(tx *storage.Tx, st *storage.Status, account *storage.Account) bool {
	return VisibleTo(tx, st, account)
}

// Favourite likes a status; a remote author is sent a Like.
func (in *Instance) Favourite(ctx context.Context, account *storage.Account, statusID storage.ID) error {
	st, author, err := in.statusAndAuthor(statusID)
	if err != nil {
		return err
	}
	likeID := in.newActivityID()
	like := withContext(activity{"id": likeID, "type": "Like", "actor": account.URI, "object": st.URI})
	nt := in.newNotifier(1)
	return in.interact(ctx, account, st, author, like, func(tx *storage.Tx) error {
		if _, err := tx.Favourite(account.ID, st.ID); err == nil {
			return errAlreadyDone
		}
		if err := tx.PutFavourite(account.ID, st.ID, likeID); err != nil {
			return err
		}
		return nt.notify(tx, 0, st.AccountID, account.ID, storage.NotifyFavourite, st.ID)
	})
}

// Unfavourite withdraws a like; a remote author is sent an Undo.
func (in *Instance) Unfavourite(ctx context.Context, account *storage.Account, statusID storage.ID) error {
	st, author, err := in.statusAndAuthor(statusID)
	if err != nil {
		return err
	}
	var likeID string
	if err := in.store.View(func(tx *storage.Tx) error {
		likeID, err = tx.Favourite(account.ID, st.ID)
		return err
	}); errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	undo := withContext(activity{"id": likeID + "#undo", "type": "Undo", "actor": account.URI,
		"object": activity{"id": likeID, "type": "Like", "actor": account.URI, "object": st.URI}})
	return in.interact(ctx, account, st, author, undo, func(tx *storage.Tx) error {
		return tx.DeleteFavourite(account.ID, st.ID)
	})
}

// errAlreadyDone aborts an interaction that changes nothing.
var errAlreadyDone = errors.New("already done")

// interact applies change and sends a to the status author's inbox when
// the author is remote, in one transaction.
func (in *Instance) interact(ctx context.Context, account *storage.Account, st *storage.Status, author *storage.Account, a activity, change func(*storage.Tx) error) error {
	if !account.Local() {
		return ErrForbidden
	}
	var body []byte
	var bodyID storage.ID
	var deliveries []storage.Delivery
	if !author.Local() {
		var err error
		if body, err = marshal(a); err != nil {
			return err
		}
		bodyID, deliveries = in.newDeliveries(stringOf(a["id"]), account.ID, []string{preferredInbox(author)})
	}
	err := in.store.Batch(ctx, func(tx *storage.Tx) error {
		if !visibleTo(tx, st, account) {
			return &NotFoundError{"status " + st.ID.String()}
		}
		if err := change(tx); err != nil {
			return err
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
	if errors.Is(err, errAlreadyDone) {
		return nil
	}
	return err
}

// Boost shares a public or unlisted status with the account's followers.
func (in *Instance) Boost(ctx context.Context, account *storage.Account, statusID storage.ID) (*storage.Status, error) {
	st, author, err := in.statusAndAuthor(statusID)
	if err != nil {
		return nil, err
	}
	if st.Visibility != storage.VisibilityPublic && st.Visibility != storage.VisibilityUnlisted {
		return nil, &InvalidError{"status", "cannot be boosted: it is not public"}
	}
	if st.ReblogOfID != 0 {
		return nil, &InvalidError{"status", "is itself a boost"}
	}
	now := in.now().UTC()
	id := in.store.NewID()
	boost := &storage.Status{
		ID: id, URI: in.ActorURI(account.Username) + "/statuses/" + id.String() + "/activity",
		AccountID: account.ID, Local: true, ReblogOfID: st.ID, Visibility: storage.VisibilityPublic,
		To: []string{asPublic}, Cc: []string{author.URI, account.FollowersURI}, CreatedAt: now,
	}
	announce := withContext(activity{"id": boost.URI, "type": "Announce", "actor": account.URI,
		"published": now.Format(time.RFC3339), "to": boost.To, "cc": boost.Cc, "object": st.URI})
	body, err := marshal(announce)
	if err != nil {
		return nil, err
	}
	var inboxes []string
	var home []storage.ID
	if err := in.store.View(func(tx *storage.Tx) error {
		inboxes, home, err = in.followersAudience(tx, account)
		return err
	}); err != nil {
		return nil, err
	}
	if !author.Local() && !slices.Contains(inboxes, preferredInbox(author)) {
		inboxes = append(inboxes, preferredInbox(author))
	}
	boost.HomeOf = dedupeIDs(append([]storage.ID{account.ID}, home...))
	bodyID, deliveries := in.newDeliveries(boost.URI, account.ID, inboxes)
	var result *storage.Status
	nt := in.newNotifier(1)
	err = in.store.Batch(ctx, func(tx *storage.Tx) error {
		if existing, err := in.findBoost(tx, account.ID, st.ID); err == nil {
			result = existing
			return nil
		}
		if !VisibleTo(tx, st, account) {
			return &NotFoundError{"status " + st.ID.String()}
		}
		rec := *boost
		if err := tx.CreateStatus(&rec); err != nil {
			return err
		}
		result = &rec
		if err := nt.notify(tx, 0, st.AccountID, account.ID, storage.NotifyReblog, st.ID); err != nil {
			return err
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
	return result, err
}

// findBoost finds account's boost of status.
func (in *Instance) findBoost(tx *storage.Tx, account, status storage.ID) (*storage.Status, error) {
	return tx.BoostBy(account, status)
}

// Unboost withdraws a boost; followers' instances are sent an Undo.
func (in *Instance) Unboost(ctx context.Context, account *storage.Account, statusID storage.ID) error {
	var boost *storage.Status
	var inboxes []string
	err := in.store.View(func(tx *storage.Tx) error {
		var err error
		if boost, err = in.findBoost(tx, account.ID, statusID); err != nil {
			return err
		}
		inboxes, _, err = in.followersAudience(tx, account)
		if err != nil {
			return err
		}
		if orig, err := tx.Status(statusID); err == nil {
			if author, err := tx.Account(orig.AccountID); err == nil && !author.Local() && !slices.Contains(inboxes, preferredInbox(author)) {
				inboxes = append(inboxes, preferredInbox(author))
			}
		}
		return nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	undo := withContext(activity{"id": boost.URI + "#undo", "type": "Undo", "actor": account.URI,
		"to": []string{asPublic}, "object": activity{"id": boost.URI, "type": "Announce", "actor": account.URI}})
	body, err := marshal(undo)
	if err != nil {
		return err
	}
	bodyID, deliveries := in.newDeliveries(boost.URI+"#undo", account.ID, inboxes)
	now := in.now()
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		if err := tx.DeleteStatus(boost.ID, now); err != nil {
			return err
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
}

// followersAudience returns the preferred inboxes of account's remote
// followers and the IDs of its local followers.
func (in *Instance) followersAudience(tx *storage.Tx, account *storage.Account) ([]string, []storage.ID, error) {
	var inboxes []string
	var local []storage.ID
	err := tx.ForEachFollower(account.ID, func(f *storage.Follow) error {
		if f.Pending {
			return nil
		}
		a, err := tx.Account(f.FollowerID)
		if err != nil {
			return err
		}
		if a.Local() {
			local = append(local, a.ID)
		} else if inbox := preferredInbox(a); !slices.Contains(inboxes, inbox) {
			inboxes = append(inboxes, inbox)
		}
		return nil
	})
	return inboxes, local, err
}

// Block blocks target: follows both ways end, and a remote target is sent
// a Block.
func (in *Instance) Block(ctx context.Context, account, target *storage.Account) error {
	if account.ID == target.ID {
		return &InvalidError{"target", "cannot be yourself"}
	}
	blockID := in.newActivityID()
	var body []byte
	var bodyID storage.ID
	var deliveries []storage.Delivery
	if !target.Local() {
		var err error
		if body, err = marshal(withContext(activity{"id": blockID, "type": "Block", "actor": account.URI, "object": target.URI})); err != nil {
			return err
		}
		bodyID, deliveries = in.newDeliveries(blockID, account.ID, []string{target.InboxURI})
	}
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		if blocked, err := tx.Blocks(account.ID, target.ID); err != nil || blocked {
			return err
		}
		if err := tx.DeleteFollow(account.ID, target.ID); err != nil {
			return err
		}
		if err := tx.DeleteFollow(target.ID, account.ID); err != nil {
			return err
		}
		if err := tx.PutBlock(account.ID, target.ID, blockID); err != nil {
			return err
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
}

// Unblock lifts a block; a remote target is sent an Undo.
func (in *Instance) Unblock(ctx context.Context, account, target *storage.Account) error {
	var blockID string
	if err := in.store.View(func(tx *storage.Tx) error {
		blocked, err := tx.Blocks(account.ID, target.ID)
		if err != nil || !blocked {
			return err
		}
		blockID, _, err = tx.BlockByURIOf(account.ID, target.ID)
		return err
	}); err != nil {
		return err
	}
	if blockID == "" {
		return nil
	}
	var body []byte
	var bodyID storage.ID
	var deliveries []storage.Delivery
	if !target.Local() {
		var err error
		undo := withContext(activity{"id": blockID + "#undo", "type": "Undo", "actor": account.URI,
			"object": activity{"id": blockID, "type": "Block", "actor": account.URI, "object": target.URI}})
		if body, err = marshal(undo); err != nil {
			return err
		}
		bodyID, deliveries = in.newDeliveries(blockID+"#undo", account.ID, []string{target.InboxURI})
	}
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		if err := tx.DeleteBlock(account.ID, target.ID); err != nil {
			return err
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
}

// EditStatus changes a local status's text, content warning or
// sensitivity, keeps the previous version, and sends an Update to its
// audience.
func (in *Instance) EditStatus(ctx context.Context, author *storage.Account, id storage.ID, d Draft) (*storage.Status, error) {
	st, _, err := in.statusAndAuthor(id)
	if err != nil {
		return nil, err
	}
	if st.AccountID != author.ID || st.ReblogOfID != 0 {
		return nil, ErrForbidden
	}
	text := d.Text
	if text == "" && len(d.MediaIDs) == 0 {
		return nil, &InvalidError{"text", "can't be blank"}
	}
	media, err := in.checkAttachable(author, d.MediaIDs, id)
	if err != nil {
		return nil, err
	}
	var mediaIDs []storage.ID
	for _, m := range media {
		mediaIDs = append(mediaIDs, m.ID)
	}
	for _, c := range d.MediaChanges {
		if !slices.Contains(mediaIDs, c.ID) {
			return nil, &InvalidError{"media_attributes", fmt.Sprintf("%s is not attached to this post", c.ID)}
		}
		if c.Description != nil && len([]rune(*c.Description)) > maxDescriptionChars {
			return nil, &InvalidError{"media_attributes", fmt.Sprintf("has a description longer than %d characters", maxDescriptionChars)}
		}
		for _, m := range media {
			c.apply(m)
		}
	}
	var mentioned []*storage.Account
	var inboxes []string
	if err := in.store.View(func(tx *storage.Tx) error {
		if mentioned, err = mentionedAccounts(tx, st); err != nil {
			return err
		}
		inboxes, err = in.audienceInboxes(tx, author, st)
		return err
	}); err != nil {
		return nil, err
	}
	profiles := map[string]string{}
	for _, m := range mentioned {
		key := m.Username
		if !m.Local() {
			key += "@" + m.Domain
		}
		profiles[strings.ToLower(key)] = cmp.Or(m.URL, m.URI)
	}
	now := in.now().UTC()
	// applyEdit changes only what an edit changes, so it can be applied to
	// the copy read inside the transaction (counters may have moved).
	applyEdit := func(s *storage.Status) {
		s.Edits = append(append([]storage.StatusEdit(nil), s.Edits...),
			storage.StatusEdit{Content: s.Content, Summary: s.Summary, Sensitive: s.Sensitive, At: cmpTime(s.EditedAt, s.CreatedAt)})
		if len(s.Edits) > maxEdits {
			s.Edits = s.Edits[len(s.Edits)-maxEdits:]
		}
		s.Text, s.Content = text, renderText(text, profiles, in.tagURL)
		s.Summary, s.Sensitive = d.SpoilerText, d.Sensitive || d.SpoilerText != ""
		s.Tags, s.EditedAt = findHashtags(text), now
		s.MediaIDs = mediaIDs
	}
	edited := *st
	applyEdit(&edited)
	note := in.noteObject(author, &edited, mentioned, media)
	update := activity{"@context": actorContext, "id": st.URI + "#updates/" + fmt.Sprint(now.Unix()), "type": "Update",
		"actor": author.URI, "published": now.Format(time.RFC3339), "to": nonNil(st.To), "cc": nonNil(st.Cc), "object": note}
	body, err := marshal(update)
	if err != nil {
		return nil, err
	}
	bodyID, deliveries := in.newDeliveries(stringOf(update["id"]), author.ID, inboxes)
	var result *storage.Status
	boosters := in.localBoosters(id)
	nt := in.newNotifier(len(boosters))
	err = in.store.Batch(ctx, func(tx *storage.Tx) error {
		current, err := tx.Status(id)
		if err != nil {
			return err
		}
		dropped := slices.DeleteFunc(slices.Clone(current.MediaIDs), func(m storage.ID) bool { return slices.Contains(mediaIDs, m) })
		applyEdit(current)
		for _, m := range dropped {
			if err := tx.DeleteMedia(m); err != nil {
				return err
			}
		}
		if err := attach(tx, id, media, true); err != nil {
			return err
		}
		if err := tx.PutStatus(current); err != nil {
			return err
		}
		for i, b := range boosters {
			if err := nt.notify(tx, i, b, author.ID, storage.NotifyUpdate, id); err != nil {
				return err
			}
		}
		result = current
		return in.enqueue(tx, bodyID, body, deliveries)
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

func cmpTime(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}

// Profile is what UpdateProfile may change.
type Profile struct {
	DisplayName  *string
	Note         *string // plain text
	Locked       *bool
	Discoverable *bool
	Bot          *bool
	Fields       *[]storage.ProfileField // plain text names and values
	Avatar       *storage.ID             // an upload made for MediaUseAvatar
	Header       *storage.ID             // an upload made for MediaUseHeader
}

// Profile field limits, as Mastodon's.
const (
	maxProfileFields = 4
	maxFieldName     = 255
	maxFieldValue    = 255
)

// UpdateProfile changes a local account's profile and sends an Update of
// the actor to every instance that follows it.
func (in *Instance) UpdateProfile(ctx context.Context, account *storage.Account, p Profile) (*storage.Account, error) {
	var note string
	if p.Note != nil {
		note = renderText(*p.Note, nil, in.tagURL)
	}
	var fields []storage.ProfileField
	if p.Fields != nil {
		if len(*p.Fields) > maxProfileFields {
			return nil, &InvalidError{"fields_attributes", fmt.Sprintf("has more than %d fields", maxProfileFields)}
		}
		for _, f := range *p.Fields {
			name, value := strings.TrimSpace(f.Name), strings.TrimSpace(f.Value)
			if name == "" && value == "" {
				continue
			}
			if len([]rune(name)) > maxFieldName || len([]rune(value)) > maxFieldValue {
				return nil, &InvalidError{"fields_attributes", "has a name or value that is too long"}
			}
			// Values are linked like posts, inline (no paragraph).
			html := strings.TrimSuffix(strings.TrimPrefix(renderText(value, nil, in.tagURL), "<p>"), "</p>")
			fields = append(fields, storage.ProfileField{Name: htmlEscape(name), Value: html})
		}
	}
	avatar, err := in.profileImage(account, p.Avatar, storage.MediaUseAvatar)
	if err != nil {
		return nil, err
	}
	header, err := in.profileImage(account, p.Header, storage.MediaUseHeader)
	if err != nil {
		return nil, err
	}
	// applyProfile changes only the fields given, so it can be applied to
	// the copy read inside the transaction.
	applyProfile := func(a *storage.Account) {
		if avatar != nil {
			a.AvatarURL, a.AvatarMediaID = in.MediaURL(avatar.File, avatar.MIME), avatar.ID
		}
		if header != nil {
			a.HeaderURL, a.HeaderMediaID = in.MediaURL(header.File, header.MIME), header.ID
		}
		if p.DisplayName != nil {
			a.DisplayName = *p.DisplayName
		}
		if p.Note != nil {
			a.Note = note
		}
		if p.Locked != nil {
			a.Locked = *p.Locked
		}
		if p.Discoverable != nil {
			a.Discoverable = *p.Discoverable
		}
		if p.Bot != nil {
			a.ActorType = "Person"
			if *p.Bot {
				a.ActorType = "Service"
			}
		}
		if p.Fields != nil {
			a.Fields = fields
		}
	}
	updated := *account
	if p.DisplayName != nil {
		if n := len([]rune(*p.DisplayName)); n > 30 {
			return nil, &InvalidError{"display_name", "is longer than 30 characters"}
		}
	}
	if p.Note != nil {
		if n := len([]rune(*p.Note)); n > 500 {
			return nil, &InvalidError{"note", "is longer than 500 characters"}
		}
	}
	applyProfile(&updated)
	updated.UpdatedAt = in.now().UTC()
	actorJSON, err := in.ActorJSON(&updated)
	if err != nil {
		return nil, err
	}
	var actorDoc map[string]any
	if err := json.Unmarshal(actorJSON, &actorDoc); err != nil {
		return nil, err
	}
	delete(actorDoc, "@context")
	update := activity{"@context": actorContext, "id": account.URI + "#updates/" + fmt.Sprint(updated.UpdatedAt.UnixNano()),
		"type": "Update", "actor": account.URI, "to": []string{asPublic}, "object": actorDoc}
	body, err := marshal(update)
	if err != nil {
		return nil, err
	}
	var inboxes []string
	if err := in.store.View(func(tx *storage.Tx) error {
		inboxes, _, err = in.followersAudience(tx, account)
		return err
	}); err != nil {
		return nil, err
	}
	bodyID, deliveries := in.newDeliveries(stringOf(update["id"]), account.ID, inboxes)
	var result *storage.Account
	err = in.store.Batch(ctx, func(tx *storage.Tx) error {
		current, err := tx.Account(account.ID)
		if err != nil {
			return err
		}
		replaced := []storage.ID{current.AvatarMediaID, current.HeaderMediaID}
		applyProfile(current)
		for _, old := range replaced {
			if old != 0 && old != current.AvatarMediaID && old != current.HeaderMediaID {
				if err := tx.DeleteMedia(old); err != nil {
					return err
				}
			}
		}
		current.UpdatedAt = updated.UpdatedAt
		if err := tx.PutAccount(current); err != nil {
			return err
		}
		result = current
		return in.enqueue(tx, bodyID, body, deliveries)
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// profileImage loads the upload a profile change names as its avatar or
// header; nil when none is named.
func (in *Instance) profileImage(account *storage.Account, id *storage.ID, use string) (*storage.Media, error) {
	if id == nil {
		return nil, nil
	}
	var m *storage.Media
	err := in.store.View(func(tx *storage.Tx) error {
		var err error
		m, err = tx.Media(*id)
		return err
	})
	if err != nil || m.AccountID != account.ID || m.Use != use || m.File == "" || m.Type != "image" {
		return nil, &InvalidError{use, "is not an image uploaded for it"}
	}
	return m, nil
}

// maxPins is how many statuses an account may pin, as Mastodon.
const maxPins = 5

// Pin features one of the account's public or unlisted statuses on its
// profile; followers' instances are sent an Add to the featured
// collection.
func (in *Instance) Pin(ctx context.Context, account *storage.Account, statusID storage.ID) error {
	return in.changePin(ctx, account, statusID, true)
}

// Unpin removes a status from the profile; followers' instances are sent
// a Remove.
func (in *Instance) Unpin(ctx context.Context, account *storage.Account, statusID storage.ID) error {
	return in.changePin(ctx, account, statusID, false)
}

func (in *Instance) changePin(ctx context.Context, account *storage.Account, statusID storage.ID, pin bool) error {
	st, _, err := in.statusAndAuthor(statusID)
	if err != nil {
		return err
	}
	if st.AccountID != account.ID || st.ReblogOfID != 0 {
		return &InvalidError{"status", "can only be one of your own posts"}
	}
	if st.Visibility == storage.VisibilityDirect {
		return &InvalidError{"status", "cannot be pinned: it is a direct message"}
	}
	typ := "Remove"
	if pin {
		typ = "Add"
	}
	id := in.newActivityID()
	body, err := marshal(withContext(activity{"id": id, "type": typ, "actor": account.URI,
		"object": st.URI, "target": account.FeaturedURI}))
	if err != nil {
		return err
	}
	var inboxes []string
	if err := in.store.View(func(tx *storage.Tx) error {
		inboxes, _, err = in.followersAudience(tx, account)
		return err
	}); err != nil {
		return err
	}
	bodyID, deliveries := in.newDeliveries(id, account.ID, inboxes)
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		already, err := tx.Pinned(account.ID, statusID)
		if err != nil || already == pin {
			return err
		}
		if pin {
			pins, perr := tx.Pins(account.ID, maxPins+1)
			if perr != nil {
				return perr
			}
			if len(pins) >= maxPins {
				return &InvalidError{"status", fmt.Sprintf("cannot be pinned: at most %d posts can be", maxPins)}
			}
			err = tx.PutPin(account.ID, statusID)
		} else {
			err = tx.DeletePin(account.ID, statusID)
		}
		if err != nil {
			return err
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
}
