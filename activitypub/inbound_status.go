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

	"github.com/rhizome-fed/rhizome/storage"
)

// Limits on what a remote status may bring.
const (
	maxRemoteContent = 64 << 10
	maxTagLen        = 100
	maxTags          = 30
	maxEdits         = 20
)

// earliestPublished is the oldest date believed for a remote post; older
// (or unparsable) dates are taken as the time we received it.
var earliestPublished = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// clampPublished reads a remote published date, kept within
// [2000-01-01, now + allowed skew]; anything else is now.
func (in *Instance) clampPublished(s string) time.Time {
	now := in.now()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.Before(earliestPublished) || t.After(now.Add(MaxClockSkew)) {
		return now
	}
	return t
}

// noteTypes are the object types stored as statuses.
var noteTypes = map[string]bool{"Note": true, "Question": true, "Article": true, "Page": true}

// stringsOf reads a property that may be one string, one object or an
// array of either, as ids.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		var out []string
		for _, e := range v {
			if s := stringOf(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	default:
		if s := stringOf(v); s != "" {
			return []string{s}
		}
	}
	return nil
}

// contentOf reads content, falling back to contentMap, which some servers
// send alone. The language is the contentMap key whose text is content,
// or its only key.
func contentOf(m map[string]any) (content, language string) {
	content, _ = m["content"].(string)
	cm, _ := m["contentMap"].(map[string]any)
	for lang, v := range cm {
		s, ok := v.(string)
		if !ok {
			continue
		}
		switch {
		case content == "":
			return s, lang
		case s == content:
			return content, lang
		case len(cm) == 1:
			language = lang
		}
	}
	return content, language
}

// trustedObject returns the object of an activity from sender as a map: an
// embedded object is believed only when its id is on the sender's host;
// otherwise (or when only an id is given) it is fetched from its own host.
func (in *Instance) trustedObject(ctx context.Context, sender *storage.Account, object any) (map[string]any, error) {
	id := stringOf(object)
	u, err := url.Parse(id)
	if err != nil || u.Host == "" {
		return nil, &BadRequestError{"object has no valid id"}
	}
	if m, ok := object.(map[string]any); ok && strings.EqualFold(u.Host, sender.Domain) {
		return m, nil
	}
	if strings.EqualFold(u.Host, in.domain) {
		return nil, fmt.Errorf("%w: object %s claims to be ours", ErrForbidden, id)
	}
	doc, _, err := in.fetchObject(ctx, id)
	if err != nil {
		return nil, &BadRequestError{fmt.Sprintf("object %s could not be fetched from its host: %v", id, err)}
	}
	return doc, nil
}

// inboundCreate stores a remote status that concerns this instance: its
// author is followed here, it mentions a local account, or it replies to a
// local status.
func (in *Instance) inboundCreate(ctx context.Context, st *inboxRequest) error {
	object, err := in.trustedObject(ctx, st.signer, st.raw["object"])
	if err != nil {
		return err
	}
	typ := stringProp(object, "type")
	if !noteTypes[typ] {
		in.log.DebugContext(ctx, "created object type not handled yet; acknowledged", "type", typ)
		return nil
	}
	if stringProp(object, "attributedTo") != st.signer.URI {
		return fmt.Errorf("%w: %s cannot create a note attributed to %s", ErrForbidden, st.signer.URI, stringProp(object, "attributedTo"))
	}
	s, err := in.parseRemoteStatus(object, st.signer)
	if err != nil {
		return err
	}
	if s.InReplyToURI != "" && in.concerns(s, st.signer, object) {
		in.fetchAncestors(ctx, s.InReplyToURI)
	}
	return in.storeRemoteStatus(ctx, s, st.signer, object)
}

// concerns reports, before any fetching, whether a remote status will be
// kept: its author has local followers or it mentions a local account.
func (in *Instance) concerns(s *storage.Status, author *storage.Account, object map[string]any) bool {
	keep := false
	_ = in.store.View(func(tx *storage.Tx) error {
		_, local, err := in.followersAudience(tx, author)
		if err != nil {
			return err
		}
		keep = len(local) > 0
		for _, t := range asList(object["tag"]) {
			if m, ok := t.(map[string]any); ok && stringProp(m, "type") == "Mention" {
				if a, err := tx.AccountByURI(stringProp(m, "href")); err == nil && a.Local() {
					keep = true
				}
			}
		}
		return nil
	})
	return keep
}

// parseRemoteStatus turns a Note (or Question, Article, Page) into a
// status record, without the parts that need storage lookups.
func (in *Instance) parseRemoteStatus(object map[string]any, author *storage.Account) (*storage.Status, error) {
	content, language := contentOf(object)
	if typ := stringProp(object, "type"); typ == "Article" || typ == "Page" {
		if name := stringProp(object, "name"); name != "" {
			content = "<p><strong>" + htmlEscape(name) + "</strong></p>" + content
		}
	}
	if typ := stringProp(object, "type"); typ == "Question" {
		content += pollHTML(object)
	}
	published := in.clampPublished(stringProp(object, "published"))
	to, cc := stringsOf(object["to"]), stringsOf(object["cc"])
	s := &storage.Status{
		ID:           storage.IDAt(published),
		URI:          stringProp(object, "id"),
		URL:          cmp.Or(httpURL(stringProp(object, "url")), httpURL(stringProp(object, "id"))),
		AccountID:    author.ID,
		Content:      SanitizeHTML(truncate(content, maxRemoteContent)),
		Summary:      truncate(stringProp(object, "summary"), 4096),
		Sensitive:    object["sensitive"] == true,
		Language:     language,
		Visibility:   visibilityOf(to, cc, author.FollowersURI),
		InReplyToURI: stringProp(object, "inReplyTo"),
		To:           to,
		Cc:           cc,
		CreatedAt:    published.UTC(),
	}
	if s.Summary != "" {
		s.Sensitive = true
	}
	if updated, err := time.Parse(time.RFC3339, stringProp(object, "updated")); err == nil {
		s.EditedAt = updated.UTC()
	}
	if tags, ok := object["tag"].([]any); ok {
		for _, t := range tags {
			if m, ok := t.(map[string]any); ok && stringProp(m, "type") == "Hashtag" {
				name := strings.ToLower(strings.TrimPrefix(stringProp(m, "name"), "#"))
				if name != "" && len(name) <= maxTagLen && len(s.Tags) < maxTags && !strings.ContainsRune(name, 0) && !slices.Contains(s.Tags, name) {
					s.Tags = append(s.Tags, name)
				}
			}
		}
	}
	return s, nil
}

func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// pollHTML renders a Question's options as a list, so clients that see
// only the content still see the choices.
func pollHTML(object map[string]any) string {
	var b strings.Builder
	for _, key := range []string{"oneOf", "anyOf"} {
		for _, o := range asList(object[key]) {
			if m, ok := o.(map[string]any); ok && stringProp(m, "name") != "" {
				b.WriteString("<li>" + htmlEscape(stringProp(m, "name")) + "</li>")
			}
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "<ul>" + b.String() + "</ul>"
}

// storeRemoteStatus links a parsed status to local accounts and stores it
// if it concerns this instance.
func (in *Instance) storeRemoteStatus(ctx context.Context, s *storage.Status, author *storage.Account, object map[string]any) error {
	mentionURIs := map[string]bool{}
	for _, t := range asList(object["tag"]) {
		if m, ok := t.(map[string]any); ok && stringProp(m, "type") == "Mention" {
			mentionURIs[stringProp(m, "href")] = true
		}
	}
	subs := in.subscribers(author.ID)
	nt := in.newNotifier(len(mentionURIs) + len(subs))
	media := parseAttachments(object, author.ID, s.CreatedAt)
	mediaIDs := in.newIDs(len(media))
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		if _, err := tx.StatusByURI(s.URI); err == nil {
			return nil // already have it: a retried delivery
		}
		if gone, err := tx.Deleted(s.URI); err != nil || gone {
			return err
		}
		rec := *s
		rec.Mentions, rec.HomeOf = nil, nil
		var mentionedLocal []storage.ID
		for uri := range mentionURIs {
			a, err := tx.AccountByURI(uri)
			if err != nil {
				continue
			}
			rec.Mentions = append(rec.Mentions, a.ID)
			if a.Local() {
				mentionedLocal = append(mentionedLocal, a.ID)
			}
		}
		replyToLocal := false
		if rec.InReplyToURI != "" {
			if parent, err := tx.StatusByURI(rec.InReplyToURI); err == nil {
				rec.InReplyToID, rec.InReplyToAccountID = parent.ID, parent.AccountID
				replyToLocal = parent.Local
			}
		}
		var followers []storage.ID
		if rec.Visibility != storage.VisibilityDirect {
			if err := tx.ForEachFollower(author.ID, func(f *storage.Follow) error {
				if !f.Pending {
					followers = append(followers, f.FollowerID)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		var localFollowers []storage.ID
		for _, id := range followers {
			if a, err := tx.Account(id); err == nil && a.Local() {
				localFollowers = append(localFollowers, id)
			}
		}
		// Nobody sees posts of an account they block, or of one that
		// blocks them.
		unblocked := func(ids []storage.ID) []storage.ID {
			var out []storage.ID
			for _, id := range ids {
				b1, err1 := tx.Blocks(id, author.ID)
				b2, err2 := tx.Blocks(author.ID, id)
				if err1 == nil && err2 == nil && !b1 && !b2 {
					out = append(out, id)
				}
			}
			return out
		}
		localFollowers, mentionedLocal = unblocked(localFollowers), unblocked(mentionedLocal)
		if len(localFollowers) == 0 && len(mentionedLocal) == 0 && !replyToLocal {
			return nil // nobody here asked for it
		}
		byTag, err := tagFollowers(tx, &rec)
		if err != nil {
			return err
		}
		rec.HomeOf = dedupeIDs(append(append(localFollowers, mentionedLocal...), unblocked(byTag)...))
		rec.MediaIDs = mediaIDs
		err = tx.CreateStatus(&rec)
		if errors.Is(err, storage.ErrExists) {
			rec.ID++ // two statuses published in the same millisecond with the same random bits
			err = tx.CreateStatus(&rec)
		}
		if err != nil {
			return err
		}
		if err := storeAttachments(tx, &rec, media, mediaIDs); err != nil {
			return err
		}
		for i, id := range mentionedLocal {
			if err := nt.notify(tx, i, id, author.ID, storage.NotifyMention, rec.ID); err != nil {
				return err
			}
		}
		if notifiesSubscribers(&rec) {
			for i, id := range subs {
				if err := nt.notify(tx, len(mentionURIs)+i, id, author.ID, storage.NotifyStatus, rec.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// inboundDelete removes a remote status, or everything of an actor that
// deleted itself.
func (in *Instance) inboundDelete(ctx context.Context, st *inboxRequest) error {
	objectID := stringOf(st.raw["object"])
	if objectID == st.signer.URI {
		return in.removeActor(ctx, st.signer)
	}
	now := in.now()
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		s, err := tx.StatusByURI(objectID)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.AccountID != st.signer.ID {
			return fmt.Errorf("%w: %s cannot delete a status of someone else", ErrForbidden, st.signer.URI)
		}
		return tx.DeleteStatus(s.ID, now)
	})
}

// removeActor deletes a remote actor's statuses, follows and likes, and
// marks the account suspended so nothing more is accepted from it.
func (in *Instance) removeActor(ctx context.Context, a *storage.Account) error {
	now := in.now()
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		for {
			page, err := tx.AccountStatuses(a.ID, storage.Page{Limit: 200})
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			for _, s := range page {
				if err := tx.DeleteStatus(s.ID, now); err != nil {
					return err
				}
			}
		}
		var pairs [][2]storage.ID
		if err := tx.ForEachFollower(a.ID, func(f *storage.Follow) error {
			pairs = append(pairs, [2]storage.ID{f.FollowerID, f.FollowedID})
			return nil
		}); err != nil {
			return err
		}
		if err := tx.ForEachFollowing(a.ID, func(f *storage.Follow) error {
			pairs = append(pairs, [2]storage.ID{f.FollowerID, f.FollowedID})
			return nil
		}); err != nil {
			return err
		}
		for _, p := range pairs {
			if err := tx.DeleteFollow(p[0], p[1]); err != nil {
				return err
			}
		}
		if err := tx.DeleteFavouritesBy(a.ID); err != nil {
			return err
		}
		current, err := tx.Account(a.ID)
		if err != nil {
			return err
		}
		current.Suspended = true
		current.UpdatedAt = now
		return tx.PutAccount(current)
	})
}

// sameHost reports whether two URLs are on the same host.
func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host != "" && strings.EqualFold(ua.Host, ub.Host)
}
