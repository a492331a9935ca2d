package activitypub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rhizome-fed/rhizome/storage"
)

// asPublic is the special collection that makes a post public.
const asPublic = nsActivityStreams + "#Public"

// Limits of local posts.
const (
	maxStatusChars  = 5000
	maxSummaryChars = 1000
)

// Draft is what a local user posts.
type Draft struct {
	Text        string
	Visibility  string // storage.Visibility*; "" means public
	SpoilerText string // content warning
	Sensitive   bool
	Language    string // ISO 639-1, optional
	InReplyTo   storage.ID
	MediaIDs    []storage.ID // uploads to attach, in order
	// MediaChanges set the alt text or focal point of attachments in an
	// edit (Mastodon's media_attributes).
	MediaChanges []MediaChange
}

// MediaChange changes one attachment's alt text or focal point; nil
// fields stay as they are.
type MediaChange struct {
	ID          storage.ID
	Description *string
	Focus       *[2]float64
}

// apply changes m if the change is for it.
func (c MediaChange) apply(m *storage.Media) {
	if c.ID != m.ID {
		return
	}
	if c.Description != nil {
		m.Description = strings.TrimSpace(*c.Description)
	}
	if c.Focus != nil {
		m.FocusX, m.FocusY = c.Focus[0], c.Focus[1]
	}
}

// StatusURI is the ActivityPub id of a local status.
func (in *Instance) StatusURI(username string, id storage.ID) string {
	return in.ActorURI(username) + "/statuses/" + id.String()
}

// statusURL is the HTML page of a local status.
func (in *Instance) statusURL(username string, id storage.ID) string {
	return in.ProfileURL(username) + "/" + id.String()
}

func (in *Instance) tagURL(tag string) string { return in.BaseURL() + "/tags/" + url.PathEscape(tag) }

// PostStatus publishes a local status: it resolves mentions (over WebFinger
// for remote ones, before any transaction), stores the status, adds it to
// the home timelines of the author, local followers and mentioned local
// accounts as its visibility allows, and queues one delivery per remote
// inbox of its audience.
func (in *Instance) PostStatus(ctx context.Context, author *storage.Account, d Draft) (*storage.Status, error) {
	if !author.Local() || author.Suspended {
		return nil, ErrForbidden
	}
	text := strings.TrimSpace(d.Text)
	switch n := utf8.RuneCountInString(text); {
	case n == 0 && len(d.MediaIDs) == 0:
		return nil, &InvalidError{"text", "can't be blank"}
	case n > maxStatusChars:
		return nil, &InvalidError{"text", fmt.Sprintf("is longer than %d characters", maxStatusChars)}
	}
	if utf8.RuneCountInString(d.SpoilerText) > maxSummaryChars {
		return nil, &InvalidError{"spoiler_text", fmt.Sprintf("is longer than %d characters", maxSummaryChars)}
	}
	if d.Visibility == "" {
		d.Visibility = storage.VisibilityPublic
	}
	if !slices.Contains([]string{storage.VisibilityPublic, storage.VisibilityUnlisted, storage.VisibilityPrivate, storage.VisibilityDirect}, d.Visibility) {
		return nil, &InvalidError{"visibility", "must be public, unlisted, private or direct"}
	}
	media, err := in.checkAttachable(author, d.MediaIDs, 0)
	if err != nil {
		return nil, err
	}
	var parent *storage.Status
	var parentAuthor *storage.Account
	if d.InReplyTo != 0 {
		if err := in.store.View(func(tx *storage.Tx) error {
			var err error
			if parent, err = tx.Status(d.InReplyTo); err != nil {
				return err
			}
			parentAuthor, err = tx.Account(parent.AccountID)
			return err
		}); err != nil {
			return nil, &InvalidError{"in_reply_to_id", "is not a known status"}
		}
	}
	// Resolve mentions before any transaction: remote ones need WebFinger.
	profiles := map[string]string{}
	var mentioned []*storage.Account
	for _, ref := range findMentions(text) {
		var a *storage.Account
		var err error
		if ref.host == "" || strings.EqualFold(ref.host, in.domain) {
			a, err = in.LocalActor(ref.username)
		} else {
			a, err = in.ResolveAccount(ctx, ref.username+"@"+ref.host)
		}
		if err != nil {
			in.log.DebugContext(ctx, "mention not resolved; left as text", "mention", ref.written, "err", err)
			continue
		}
		profiles[strings.ToLower(strings.TrimPrefix(ref.written, "@"))] = cmp.Or(a.URL, a.URI)
		if !slices.ContainsFunc(mentioned, func(m *storage.Account) bool { return m.ID == a.ID }) {
			mentioned = append(mentioned, a)
		}
	}
	if parentAuthor != nil && parentAuthor.ID != author.ID &&
		!slices.ContainsFunc(mentioned, func(m *storage.Account) bool { return m.ID == parentAuthor.ID }) {
		mentioned = append(mentioned, parentAuthor) // a reply addresses whom it answers
	}

	now := in.now().UTC()
	id := in.store.NewID()
	st := &storage.Status{
		ID: id, URI: in.StatusURI(author.Username, id), URL: in.statusURL(author.Username, id),
		AccountID: author.ID, Local: true,
		Content: renderText(text, profiles, in.tagURL), Text: text,
		Summary: strings.TrimSpace(d.SpoilerText), Sensitive: d.Sensitive || strings.TrimSpace(d.SpoilerText) != "",
		Language: d.Language, Visibility: d.Visibility, Tags: findHashtags(text), CreatedAt: now,
	}
	if parent != nil {
		st.InReplyToID, st.InReplyToURI, st.InReplyToAccountID = parent.ID, parent.URI, parent.AccountID
	}
	for _, m := range mentioned {
		st.Mentions = append(st.Mentions, m.ID)
	}
	for _, m := range media {
		st.MediaIDs = append(st.MediaIDs, m.ID)
	}
	st.To, st.Cc = addressing(d.Visibility, author.FollowersURI, mentioned)

	create := in.createActivity(author, st, mentioned, media)
	body, err := marshal(create)
	if err != nil {
		return nil, err
	}
	// Audience: remote followers (unless direct) and remote mentions.
	var followers []*storage.Account
	var localFollowers []storage.ID
	if err := in.store.View(func(tx *storage.Tx) error {
		return tx.ForEachFollower(author.ID, func(f *storage.Follow) error {
			if f.Pending {
				return nil
			}
			a, err := tx.Account(f.FollowerID)
			if err != nil {
				return err
			}
			if a.Local() {
				localFollowers = append(localFollowers, a.ID)
			} else {
				followers = append(followers, a)
			}
			return nil
		})
	}); err != nil {
		return nil, err
	}
	var inboxes []string
	seen := map[string]bool{}
	addInbox := func(inbox string) {
		if inbox != "" && !seen[inbox] {
			seen[inbox] = true
			inboxes = append(inboxes, inbox)
		}
	}
	// Mentioned actors first: conversations feel faster (their inbox
	// rather than a shared one only matters for direct posts).
	home := []storage.ID{author.ID}
	blocked := map[storage.ID]bool{}
	if err := in.store.View(func(tx *storage.Tx) error {
		for _, m := range mentioned {
			b1, err := tx.Blocks(author.ID, m.ID)
			if err != nil {
				return err
			}
			b2, err := tx.Blocks(m.ID, author.ID)
			if err != nil {
				return err
			}
			blocked[m.ID] = b1 || b2
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, m := range mentioned {
		if blocked[m.ID] {
			continue // the author's content stays hidden from whom they block
		}
		if m.Local() {
			home = append(home, m.ID)
			continue
		}
		if d.Visibility == storage.VisibilityDirect {
			addInbox(m.InboxURI)
		} else {
			addInbox(preferredInbox(m))
		}
	}
	if d.Visibility != storage.VisibilityDirect {
		home = append(home, localFollowers...)
		for _, f := range followers {
			addInbox(preferredInbox(f))
		}
	}
	st.HomeOf = dedupeIDs(home)
	bodyID, deliveries := in.newDeliveries(stringOf(create["id"]), author.ID, inboxes)
	subs := in.subscribers(author.ID)
	nt := in.newNotifier(len(mentioned) + len(subs))
	err = in.store.Batch(ctx, func(tx *storage.Tx) error {
		created := *st
		byTag, err := tagFollowers(tx, &created)
		if err != nil {
			return err
		}
		for _, id := range byTag {
			b1, err1 := tx.Blocks(id, author.ID)
			b2, err2 := tx.Blocks(author.ID, id)
			if err1 == nil && err2 == nil && !b1 && !b2 {
				created.HomeOf = append(created.HomeOf, id)
			}
		}
		created.HomeOf = dedupeIDs(created.HomeOf)
		if err := attach(tx, created.ID, media, false); err != nil {
			return err
		}
		if err := tx.CreateStatus(&created); err != nil {
			return err
		}
		for i, m := range mentioned {
			if blocked[m.ID] {
				continue
			}
			if err := nt.notify(tx, i, m.ID, author.ID, storage.NotifyMention, st.ID); err != nil {
				return err
			}
		}
		if notifiesSubscribers(&created) {
			for i, id := range subs {
				if err := nt.notify(tx, len(mentioned)+i, id, author.ID, storage.NotifyStatus, st.ID); err != nil {
					return err
				}
			}
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

func dedupeIDs(ids []storage.ID) []storage.ID {
	var out []storage.ID
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// addressing returns to and cc for a visibility, as Mastodon addresses:
// public is to Public, cc followers; unlisted the reverse; followers-only
// to followers; direct to the mentioned actors only. Mentions are always
// addressed.
func addressing(visibility, followersURI string, mentioned []*storage.Account) (to, cc []string) {
	var mentions []string
	for _, m := range mentioned {
		mentions = append(mentions, m.URI)
	}
	switch visibility {
	case storage.VisibilityPublic:
		return []string{asPublic}, append([]string{followersURI}, mentions...)
	case storage.VisibilityUnlisted:
		return []string{followersURI}, append([]string{asPublic}, mentions...)
	case storage.VisibilityPrivate:
		return []string{followersURI}, mentions
	}
	return mentions, nil
}

// visibilityOf derives a remote status's visibility from its addressing.
func visibilityOf(to, cc []string, followersURI string) string {
	isPublic := func(s string) bool { return s == asPublic || s == "Public" || s == "as:Public" }
	switch {
	case slices.ContainsFunc(to, isPublic):
		return storage.VisibilityPublic
	case slices.ContainsFunc(cc, isPublic):
		return storage.VisibilityUnlisted
	case followersURI != "" && (slices.Contains(to, followersURI) || slices.Contains(cc, followersURI)):
		return storage.VisibilityPrivate
	}
	return storage.VisibilityDirect
}

// noteObject renders a status as a Note.
func (in *Instance) noteObject(author *storage.Account, st *storage.Status, mentioned []*storage.Account, media []*storage.Media) activity {
	tags := []any{}
	for _, m := range mentioned {
		name := "@" + m.Username
		if !m.Local() {
			name += "@" + m.Domain
		} else {
			name += "@" + in.domain
		}
		tags = append(tags, map[string]any{"type": "Mention", "href": m.URI, "name": name})
	}
	for _, tag := range st.Tags {
		tags = append(tags, map[string]any{"type": "Hashtag", "href": in.tagURL(tag), "name": "#" + tag})
	}
	note := activity{
		"id":           st.URI,
		"type":         "Note",
		"attributedTo": author.URI,
		"to":           nonNil(st.To),
		"cc":           nonNil(st.Cc),
		"content":      st.Content,
		"published":    st.CreatedAt.UTC().Format(time.RFC3339),
		"url":          st.URL,
		"sensitive":    st.Sensitive,
		"summary":      nil,
		"inReplyTo":    nil,
		"tag":          tags,
	}
	attachments := []any{}
	for _, m := range media {
		attachments = append(attachments, in.attachmentObject(m))
	}
	note["attachment"] = attachments
	if st.Summary != "" {
		note["summary"] = st.Summary
	}
	if st.InReplyToURI != "" {
		note["inReplyTo"] = st.InReplyToURI
	}
	if st.Language != "" {
		note["contentMap"] = map[string]string{st.Language: st.Content}
	}
	if !st.EditedAt.IsZero() {
		note["updated"] = st.EditedAt.UTC().Format(time.RFC3339)
	}
	return note
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// createActivity wraps a status's Note in its Create.
func (in *Instance) createActivity(author *storage.Account, st *storage.Status, mentioned []*storage.Account, media []*storage.Media) activity {
	return activity{
		"@context":  actorContext,
		"id":        st.URI + "/activity",
		"type":      "Create",
		"actor":     author.URI,
		"published": st.CreatedAt.UTC().Format(time.RFC3339),
		"to":        nonNil(st.To),
		"cc":        nonNil(st.Cc),
		"object":    in.noteObject(author, st, mentioned, media),
	}
}

// mentionedAccounts loads a status's mentioned accounts.
func mentionedAccounts(tx *storage.Tx, st *storage.Status) ([]*storage.Account, error) {
	var out []*storage.Account
	for _, id := range st.Mentions {
		a, err := tx.Account(id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// noteParts loads what rendering a status needs.
func (in *Instance) noteParts(st *storage.Status) (author *storage.Account, mentioned []*storage.Account, media []*storage.Media, err error) {
	err = in.store.View(func(tx *storage.Tx) error {
		if author, err = tx.Account(st.AccountID); err != nil {
			return err
		}
		if mentioned, err = mentionedAccounts(tx, st); err != nil {
			return err
		}
		media, err = tx.StatusMedia(st)
		return err
	})
	return author, mentioned, media, err
}

// NoteJSON renders a local status as the Note peers fetch.
func (in *Instance) NoteJSON(st *storage.Status) ([]byte, error) {
	author, mentioned, media, err := in.noteParts(st)
	if err != nil {
		return nil, err
	}
	note := in.noteObject(author, st, mentioned, media)
	note["@context"] = actorContext
	return marshal(note)
}

// CreateJSON renders the Create activity of a local status.
func (in *Instance) CreateJSON(st *storage.Status) ([]byte, error) {
	author, mentioned, media, err := in.noteParts(st)
	if err != nil {
		return nil, err
	}
	return marshal(in.createActivity(author, st, mentioned, media))
}

// DeleteStatus deletes a local status: gone from every local timeline at
// once, and a Delete with a Tombstone goes to everyone who received it.
func (in *Instance) DeleteStatus(ctx context.Context, author *storage.Account, id storage.ID) error {
	var st *storage.Status
	var inboxes []string
	if err := in.store.View(func(tx *storage.Tx) error {
		var err error
		if st, err = tx.Status(id); err != nil {
			return err
		}
		if st.AccountID != author.ID {
			return ErrForbidden
		}
		inboxes, err = in.audienceInboxes(tx, author, st)
		return err
	}); err != nil {
		return err
	}
	del := activity{
		"@context": actorContext,
		"id":       st.URI + "#delete",
		"type":     "Delete",
		"actor":    author.URI,
		"to":       []string{asPublic},
		"object":   map[string]any{"id": st.URI, "type": "Tombstone", "atomUri": st.URI},
	}
	body, err := marshal(del)
	if err != nil {
		return err
	}
	bodyID, deliveries := in.newDeliveries(st.URI+"#delete", author.ID, inboxes)
	now := in.now()
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		if err := tx.DeleteStatus(id, now); err != nil {
			return err
		}
		return in.enqueue(tx, bodyID, body, deliveries)
	})
}

// audienceInboxes lists the remote inboxes a status went to: its
// followers' (unless direct) and its mentioned actors'.
func (in *Instance) audienceInboxes(tx *storage.Tx, author *storage.Account, st *storage.Status) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(a *storage.Account) {
		if inbox := preferredInbox(a); !a.Local() && inbox != "" && !seen[inbox] {
			seen[inbox] = true
			out = append(out, inbox)
		}
	}
	mentioned, err := mentionedAccounts(tx, st)
	if err != nil {
		return nil, err
	}
	for _, m := range mentioned {
		add(m)
	}
	if st.Visibility == storage.VisibilityDirect {
		return out, nil
	}
	err = tx.ForEachFollower(author.ID, func(f *storage.Follow) error {
		if f.Pending {
			return nil
		}
		a, err := tx.Account(f.FollowerID)
		if err != nil {
			return err
		}
		add(a)
		return nil
	})
	return out, err
}
