package activitypub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// inboundLike records a like of a status we hold.
func (in *Instance) inboundLike(ctx context.Context, st *inboxRequest) error {
	likeID, objectURI := stringProp(st.raw, "id"), stringOf(st.raw["object"])
	nt := in.newNotifier(1)
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		s, err := tx.StatusByURI(objectURI)
		if errors.Is(err, storage.ErrNotFound) {
			return nil // not ours to count
		}
		if err != nil {
			return err
		}
		if !s.Local {
			return nil // likes of other servers' statuses are theirs to count
		}
		if blocked, err := tx.Blocks(s.AccountID, st.signer.ID); err != nil || blocked || !visibleTo(tx, s, st.signer) {
			if err == nil {
				err = fmt.Errorf("%w: %s may not like %s", ErrForbidden, st.signer.URI, s.URI)
			}
			return err
		}
		if _, err := tx.Favourite(st.signer.ID, s.ID); err == nil {
			return nil // already counted
		}
		if err := tx.PutFavourite(st.signer.ID, s.ID, likeID); err != nil {
			return err
		}
		return nt.notify(tx, 0, s.AccountID, st.signer.ID, storage.NotifyFavourite, s.ID)
	})
}

// inboundAnnounce records a boost by a remote actor that local accounts
// follow, fetching the boosted status when we do not hold it yet.
func (in *Instance) inboundAnnounce(ctx context.Context, st *inboxRequest) error {
	announceID, objectURI := stringProp(st.raw, "id"), stringOf(st.raw["object"])
	var original *storage.Status
	var localFollowers []storage.ID
	if err := in.store.View(func(tx *storage.Tx) error {
		original, _ = tx.StatusByURI(objectURI)
		_, local, err := in.followersAudience(tx, st.signer)
		localFollowers = local
		return err
	}); err != nil {
		return err
	}
	if original == nil && len(localFollowers) == 0 {
		return nil // a boost of something nobody here follows or holds
	}
	if original == nil {
		var err error
		if original, err = in.fetchRemoteStatus(ctx, objectURI); err != nil {
			return &BadRequestError{fmt.Sprintf("boosted status %s: %v", objectURI, err)}
		}
	}
	if original.Visibility != storage.VisibilityPublic && original.Visibility != storage.VisibilityUnlisted {
		return fmt.Errorf("%w: %s is not public and cannot be boosted", ErrForbidden, original.URI)
	}
	published := in.clampPublished(stringProp(st.raw, "published"))
	boost := &storage.Status{ID: storage.IDAt(published), URI: announceID, AccountID: st.signer.ID,
		ReblogOfID: original.ID, Visibility: visibilityOf(stringsOf(st.raw["to"]), stringsOf(st.raw["cc"]), st.signer.FollowersURI),
		To: stringsOf(st.raw["to"]), Cc: stringsOf(st.raw["cc"]), CreatedAt: published.UTC(), HomeOf: localFollowers}
	nt := in.newNotifier(1)
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		if _, err := tx.StatusByURI(announceID); err == nil {
			return nil
		}
		if blocked, err := tx.Blocks(original.AccountID, st.signer.ID); err != nil || blocked {
			if err == nil {
				err = fmt.Errorf("%w: %s may not boost %s", ErrForbidden, st.signer.URI, original.URI)
			}
			return err
		}
		rec := *boost
		// Nobody sees a boost of someone they block, or by someone they block.
		rec.HomeOf = nil
		for _, id := range boost.HomeOf {
			b1, err1 := tx.Blocks(id, original.AccountID)
			b2, err2 := tx.Blocks(id, st.signer.ID)
			if err1 == nil && err2 == nil && !b1 && !b2 {
				rec.HomeOf = append(rec.HomeOf, id)
			}
		}
		if err := tx.CreateStatus(&rec); err != nil {
			return err
		}
		return nt.notify(tx, 0, original.AccountID, st.signer.ID, storage.NotifyReblog, original.ID)
	})
}

// maxAncestors bounds how many missing ancestors of a reply are fetched,
// and ancestorFetchBudget how long fetching them may take in all.
const (
	maxAncestors        = 8
	ancestorFetchBudget = 10 * time.Second
)

// fetchedNote is a remote status fetched from its own host.
type fetchedNote struct {
	doc    map[string]any
	author *storage.Account
}

// fetchNote fetches a status from its own host, with its author.
func (in *Instance) fetchNote(ctx context.Context, uri string) (fetchedNote, error) {
	doc, _, err := in.fetchObject(ctx, uri)
	if err != nil {
		return fetchedNote{}, err
	}
	if !noteTypes[stringProp(doc, "type")] {
		return fetchedNote{}, fmt.Errorf("%w: %s is a %s", ErrFetch, uri, stringProp(doc, "type"))
	}
	author, err := in.RemoteActor(ctx, stringProp(doc, "attributedTo"), false)
	if err != nil {
		return fetchedNote{}, err
	}
	if !sameHost(author.URI, stringProp(doc, "id")) {
		return fetchedNote{}, fmt.Errorf("%w: %s is attributed to an actor on another host", ErrFetch, uri)
	}
	return fetchedNote{doc, author}, nil
}

// storeFetched stores fetched statuses, oldest first, without adding them
// to any timeline, each linked to its parent when that is held.
func (in *Instance) storeFetched(ctx context.Context, notes []fetchedNote) error {
	var parsed []*storage.Status
	var media [][]storage.Media
	var mediaIDs [][]storage.ID
	for _, n := range notes {
		s, err := in.parseRemoteStatus(n.doc, n.author)
		if err != nil {
			return err
		}
		parsed = append(parsed, s)
		m := parseAttachments(n.doc, n.author.ID, s.CreatedAt)
		media, mediaIDs = append(media, m), append(mediaIDs, in.newIDs(len(m)))
	}
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		for i, s := range parsed {
			if _, err := tx.StatusByURI(s.URI); err == nil {
				continue
			}
			if gone, err := tx.Deleted(s.URI); err != nil || gone {
				if err != nil {
					return err
				}
				continue
			}
			rec := *s
			if parent, err := tx.StatusByURI(rec.InReplyToURI); err == nil && rec.InReplyToURI != "" {
				rec.InReplyToID, rec.InReplyToAccountID = parent.ID, parent.AccountID
			}
			rec.MediaIDs = mediaIDs[i]
			if err := tx.CreateStatus(&rec); err != nil {
				return err
			}
			if err := storeAttachments(tx, &rec, media[i], mediaIDs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// fetchRemoteStatus fetches a status from its own host and stores it
// without adding it to any timeline.
func (in *Instance) fetchRemoteStatus(ctx context.Context, uri string) (*storage.Status, error) {
	n, err := in.fetchNote(ctx, uri)
	if err != nil {
		return nil, err
	}
	if err := in.storeFetched(ctx, []fetchedNote{n}); err != nil {
		return nil, err
	}
	var stored *storage.Status
	err = in.store.View(func(tx *storage.Tx) error {
		stored, err = tx.StatusByURI(stringProp(n.doc, "id"))
		return err
	})
	return stored, err
}

// fetchAncestors fetches the missing ancestors of a reply, up to
// maxAncestors of them, and stores them oldest first so each links to its
// parent. Failures end the walk; the thread is then shorter, not wrong.
func (in *Instance) fetchAncestors(ctx context.Context, uri string) {
	// One deadline for the whole walk: a hostile thread cannot hold the
	// inbox request for minutes.
	ctx, cancel := context.WithTimeout(ctx, ancestorFetchBudget)
	defer cancel()
	var chain []fetchedNote
	seen := map[string]bool{}
	for len(chain) < maxAncestors && uri != "" && !seen[uri] {
		seen[uri] = true
		known := false
		_ = in.store.View(func(tx *storage.Tx) error {
			_, err := tx.StatusByURI(uri)
			known = err == nil
			return nil
		})
		if known || sameHost(uri, in.BaseURL()) {
			break
		}
		n, err := in.fetchNote(ctx, uri)
		if err != nil {
			in.log.DebugContext(ctx, "ancestor not fetched", "status", uri, "err", err)
			break
		}
		chain = append(chain, n)
		uri = stringProp(n.doc, "inReplyTo")
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	if len(chain) > 0 {
		if err := in.storeFetched(ctx, chain); err != nil {
			in.log.WarnContext(ctx, "storing fetched ancestors failed", "err", err)
		}
	}
}

// inboundBlock records that a remote actor blocks a local account: follows
// between them end.
func (in *Instance) inboundBlock(ctx context.Context, st *inboxRequest) error {
	blockID, objectURI := stringProp(st.raw, "id"), stringOf(st.raw["object"])
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		target, err := in.localTarget(tx, objectURI)
		if err != nil {
			return err
		}
		if err := tx.DeleteFollow(st.signer.ID, target.ID); err != nil {
			return err
		}
		if err := tx.DeleteFollow(target.ID, st.signer.ID); err != nil {
			return err
		}
		return tx.PutBlock(st.signer.ID, target.ID, blockID)
	})
}

// inboundUndoOther undoes a Like, Announce or Block of the signer.
func (in *Instance) inboundUndoOther(ctx context.Context, st *inboxRequest, objectType string) error {
	id := stringOf(st.raw["object"])
	now := in.now()
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		switch objectType {
		case "Like":
			account, status, err := tx.FavouriteByURI(id)
			if errors.Is(err, storage.ErrNotFound) {
				return nil
			}
			if err != nil || account != st.signer.ID {
				return err
			}
			return tx.DeleteFavourite(account, status)
		case "Announce":
			boost, err := tx.StatusByURI(id)
			if errors.Is(err, storage.ErrNotFound) {
				return nil
			}
			if err != nil || boost.AccountID != st.signer.ID || boost.ReblogOfID == 0 {
				return err
			}
			return tx.DeleteStatus(boost.ID, now)
		case "Block":
			blocker, blocked, err := tx.BlockByURI(id)
			if errors.Is(err, storage.ErrNotFound) {
				return nil
			}
			if err != nil || blocker != st.signer.ID {
				return err
			}
			return tx.DeleteBlock(blocker, blocked)
		}
		return nil
	})
}

// inboundUpdate applies an edit of a remote status (keeping the previous
// version) or a refreshed actor profile.
func (in *Instance) inboundUpdate(ctx context.Context, st *inboxRequest) error {
	object, ok := st.raw["object"].(map[string]any)
	if !ok {
		return &BadRequestError{"Update needs an embedded object"}
	}
	if !sameHost(stringProp(object, "id"), st.signer.URI) {
		return fmt.Errorf("%w: %s cannot update an object on another host", ErrForbidden, st.signer.URI)
	}
	typ := stringProp(object, "type")
	if actorTypes[typ] {
		if stringProp(object, "id") != st.signer.URI {
			return fmt.Errorf("%w: %s cannot update another actor", ErrForbidden, st.signer.URI)
		}
		a, err := parseActor(object, st.signer.Domain)
		if err != nil {
			return &BadRequestError{err.Error()}
		}
		_, err = in.saveRemoteActor(ctx, a)
		return err
	}
	if !noteTypes[typ] {
		return nil
	}
	if stringProp(object, "attributedTo") != st.signer.URI {
		return fmt.Errorf("%w: %s cannot edit a note of someone else", ErrForbidden, st.signer.URI)
	}
	fresh, err := in.parseRemoteStatus(object, st.signer)
	if err != nil {
		return err
	}
	media := parseAttachments(object, st.signer.ID, fresh.CreatedAt)
	mediaIDs := in.newIDs(len(media))
	now := in.now()
	var boosters []storage.ID
	var existing storage.ID
	_ = in.store.View(func(tx *storage.Tx) error {
		if s, err := tx.StatusByURI(fresh.URI); err == nil {
			existing = s.ID
		}
		return nil
	})
	if existing != 0 {
		boosters = in.localBoosters(existing) // its own read transaction, never nested
	}
	nt := in.newNotifier(len(boosters))
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		s, err := tx.StatusByURI(fresh.URI)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.AccountID != st.signer.ID {
			return fmt.Errorf("%w: %s does not own %s", ErrForbidden, st.signer.URI, s.URI)
		}
		old, err := tx.StatusMedia(s)
		if err != nil {
			return err
		}
		if s.Content == fresh.Content && s.Summary == fresh.Summary && s.Sensitive == fresh.Sensitive && sameAttachments(old, media) {
			return nil
		}
		edited := *s
		edited.Edits = append(append([]storage.StatusEdit(nil), s.Edits...),
			storage.StatusEdit{Content: s.Content, Summary: s.Summary, Sensitive: s.Sensitive, At: cmpTime(s.EditedAt, s.CreatedAt)})
		if len(edited.Edits) > maxEdits {
			edited.Edits = edited.Edits[len(edited.Edits)-maxEdits:] // the oldest go first
		}
		edited.Content, edited.Summary, edited.Sensitive, edited.Tags = fresh.Content, fresh.Summary, fresh.Sensitive, fresh.Tags
		for _, m := range old {
			if err := tx.DeleteMedia(m.ID); err != nil {
				return err
			}
		}
		if err := storeAttachments(tx, &edited, media, mediaIDs); err != nil {
			return err
		}
		edited.EditedAt = cmpTime(fresh.EditedAt, now)
		if err := tx.PutStatus(&edited); err != nil {
			return err
		}
		for i, b := range boosters {
			if err := nt.notify(tx, i, b, st.signer.ID, storage.NotifyUpdate, s.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// maxReportedObjects bounds the objects one Flag may name.
const maxReportedObjects = 100

// inboundFlag stores a report about local accounts or statuses for the
// admins. Mastodon sends it from its instance actor with the reported
// account and statuses as objects.
func (in *Instance) inboundFlag(ctx context.Context, st *inboxRequest) error {
	objects := stringsOf(st.raw["object"])
	if len(objects) > maxReportedObjects {
		objects = objects[:maxReportedObjects]
	}
	id := in.store.NewID()
	return in.store.Batch(ctx, func(tx *storage.Tx) error {
		r := &storage.Report{ID: id, URI: stringProp(st.raw, "id"), ReporterID: st.signer.ID,
			Comment: truncate(stringProp(st.raw, "content"), 5000), CreatedAt: in.now().UTC()}
		for _, uri := range objects {
			if a, err := tx.AccountByURI(uri); err == nil && a.Local() {
				if !slices.Contains(r.TargetIDs, a.ID) {
					r.TargetIDs = append(r.TargetIDs, a.ID)
				}
				continue
			}
			if s, err := tx.StatusByURI(uri); err == nil && s.Local {
				r.StatusIDs = append(r.StatusIDs, s.ID)
				if !slices.Contains(r.TargetIDs, s.AccountID) {
					r.TargetIDs = append(r.TargetIDs, s.AccountID)
				}
			}
		}
		if len(r.TargetIDs) == 0 {
			return nil // about nothing of ours
		}
		err := tx.CreateReport(r)
		if errors.Is(err, storage.ErrExists) {
			return nil // the same Flag again
		}
		return err
	})
}

// ResolveStatus finds a status by its id or URL: stored, or fetched from
// its own host (and stored) when it is remote.
func (in *Instance) ResolveStatus(ctx context.Context, uri string) (*storage.Status, error) {
	var s *storage.Status
	_ = in.store.View(func(tx *storage.Tx) error {
		s, _ = tx.StatusByURI(uri)
		return nil
	})
	if s != nil {
		return s, nil
	}
	if httpURL(uri) == "" || sameHost(uri, in.BaseURL()) {
		return nil, &NotFoundError{What: "status " + uri}
	}
	s, err := in.fetchRemoteStatus(ctx, uri)
	if err != nil {
		return nil, &NotFoundError{What: "status " + uri}
	}
	return s, nil
}
