package activitypub

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rhizome-fed/rhizome/storage"
)

// ContentType is the media type of every ActivityPub document we serve.
const ContentType = "application/activity+json; charset=utf-8"

const (
	nsActivityStreams = "https://www.w3.org/ns/activitystreams"
	nsSecurity        = "https://w3id.org/security/v1"
)

// actorContext is the @context of actor documents: ActivityStreams, the
// security vocabulary, and the extension terms Mastodon uses defined
// inline (http://joinmastodon.org/ns serves no context document, so it must
// never appear as a bare URL).
var actorContext = []any{
	nsActivityStreams,
	nsSecurity,
	map[string]any{
		"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
		"sensitive":                 "as:sensitive",
		"Hashtag":                   "as:Hashtag",
		"movedTo":                   map[string]string{"@id": "as:movedTo", "@type": "@id"},
		"alsoKnownAs":               map[string]string{"@id": "as:alsoKnownAs", "@type": "@id"},
		"toot":                      "http://joinmastodon.org/ns#",
		"featured":                  map[string]string{"@id": "toot:featured", "@type": "@id"},
		"featuredTags":              map[string]string{"@id": "toot:featuredTags", "@type": "@id"},
		"discoverable":              "toot:discoverable",
		"indexable":                 "toot:indexable",
		"suspended":                 "toot:suspended",
		"memorial":                  "toot:memorial",
		"Emoji":                     "toot:Emoji",
		"focalPoint":                map[string]string{"@container": "@list", "@id": "toot:focalPoint"},
		"blurhash":                  "toot:blurhash",
		"votersCount":               "toot:votersCount",
		"schema":                    "http://schema.org#",
		"PropertyValue":             "schema:PropertyValue",
		"value":                     "schema:value",
	},
}

type actorDoc struct {
	Context                   []any      `json:"@context"`
	ID                        string     `json:"id"`
	Type                      string     `json:"type"`
	Following                 string     `json:"following,omitempty"`
	Followers                 string     `json:"followers,omitempty"`
	Inbox                     string     `json:"inbox"`
	Outbox                    string     `json:"outbox"`
	Featured                  string     `json:"featured,omitempty"`
	PreferredUsername         string     `json:"preferredUsername"`
	Name                      string     `json:"name"`
	Summary                   string     `json:"summary"`
	URL                       string     `json:"url,omitempty"`
	ManuallyApprovesFollowers bool       `json:"manuallyApprovesFollowers"`
	Discoverable              bool       `json:"discoverable"`
	Indexable                 bool       `json:"indexable"`
	Suspended                 bool       `json:"suspended,omitempty"`
	Published                 string     `json:"published"`
	PublicKey                 publicKey  `json:"publicKey"`
	Endpoints                 *endpoints `json:"endpoints,omitempty"`
	Icon                      *image     `json:"icon,omitempty"`
	Image                     *image     `json:"image,omitempty"`
	Tag                       []any      `json:"tag"`
	Attachment                []any      `json:"attachment"`
}

type publicKey struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPEM string `json:"publicKeyPem"`
}

type endpoints struct {
	SharedInbox string `json:"sharedInbox"`
}

type image struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// ActorJSON renders the actor document of a local account or of the
// instance actor. A suspended account keeps its identity and key but shows
// no profile, as Mastodon does.
func (in *Instance) ActorJSON(a *storage.Account) ([]byte, error) {
	if !a.Local() {
		return nil, fmt.Errorf("render actor %s: not a local account", a.URI)
	}
	doc := actorDoc{
		Context:                   actorContext,
		ID:                        a.URI,
		Type:                      a.ActorType,
		Following:                 a.FollowingURI,
		Followers:                 a.FollowersURI,
		Inbox:                     a.InboxURI,
		Outbox:                    a.OutboxURI,
		Featured:                  a.FeaturedURI,
		PreferredUsername:         a.Username,
		Name:                      a.DisplayName,
		Summary:                   a.Note,
		URL:                       a.URL,
		ManuallyApprovesFollowers: a.Locked,
		Discoverable:              a.Discoverable,
		Indexable:                 a.Discoverable,
		Published:                 a.CreatedAt.UTC().Truncate(time.Second).Format(time.RFC3339),
		PublicKey:                 publicKey{ID: a.PublicKeyID, Owner: a.URI, PublicKeyPEM: a.PublicKeyPEM},
		Tag:                       []any{},
		Attachment:                []any{},
	}
	if a.SharedInboxURI != "" {
		doc.Endpoints = &endpoints{SharedInbox: a.SharedInboxURI}
	} else {
		doc.Endpoints = &endpoints{SharedInbox: in.SharedInboxURI()}
	}
	if a.AvatarURL != "" {
		doc.Icon = &image{Type: "Image", URL: a.AvatarURL}
	}
	if a.HeaderURL != "" {
		doc.Image = &image{Type: "Image", URL: a.HeaderURL}
	}
	for _, f := range a.Fields {
		doc.Attachment = append(doc.Attachment, map[string]any{"type": "PropertyValue", "name": f.Name, "value": f.Value})
	}
	if a.Suspended {
		doc.Suspended = true
		doc.Attachment = []any{}
		doc.Name, doc.Summary, doc.Icon, doc.Image = "", "", nil, nil
		doc.Discoverable, doc.Indexable = false, false
	}
	return marshal(doc)
}

// ActorKeyJSON renders the part of an actor document that proves who it
// is: id, type, username, inbox, shared inbox and public key. Under
// authorized fetch it answers unsigned requests, so any peer can still
// verify our signatures.
func (in *Instance) ActorKeyJSON(a *storage.Account) ([]byte, error) {
	if !a.Local() {
		return nil, fmt.Errorf("render actor %s: not a local account", a.URI)
	}
	return marshal(map[string]any{
		"@context":          actorContext,
		"id":                a.URI,
		"type":              a.ActorType,
		"preferredUsername": a.Username,
		"inbox":             a.InboxURI,
		"outbox":            a.OutboxURI,
		"endpoints":         endpoints{SharedInbox: cmp.Or(a.SharedInboxURI, in.SharedInboxURI())},
		"publicKey":         publicKey{ID: a.PublicKeyID, Owner: a.URI, PublicKeyPEM: a.PublicKeyPEM},
	})
}

// CollectionKind names the collections every local actor has.
type CollectionKind string

// The collections of a local actor.
const (
	Outbox    CollectionKind = "outbox"
	Followers CollectionKind = "followers"
	Following CollectionKind = "following"
	Featured  CollectionKind = "featured"
)

type collectionDoc struct {
	Context    string `json:"@context"`
	ID         string `json:"id"`
	Type       string `json:"type"`
	TotalItems int64  `json:"totalItems"`
	First      string `json:"first"`
}

type collectionPageDoc struct {
	Context      string `json:"@context"`
	ID           string `json:"id"`
	Type         string `json:"type"`
	TotalItems   int64  `json:"totalItems"`
	PartOf       string `json:"partOf"`
	Next         string `json:"next,omitempty"`
	OrderedItems []any  `json:"orderedItems"`
}

// collectionPageSize is how many items one collection page holds.
const collectionPageSize = 20

// CollectionPage selects a page of a collection: nil for the collection
// itself, otherwise the page of items below MaxID (0: the first page).
type CollectionPage struct {
	MaxID storage.ID
}

// CollectionJSON renders one of a local account's collections: the
// OrderedCollection, or one OrderedCollectionPage of it, newest first. The
// outbox holds the Create activities of public and unlisted statuses;
// followers and following hold actor ids of accepted follows; featured
// holds pinned statuses (none can be pinned yet).
func (in *Instance) CollectionJSON(a *storage.Account, kind CollectionKind, page *CollectionPage) ([]byte, error) {
	var id string
	var total int64
	switch kind {
	case Outbox:
		id, total = a.OutboxURI, a.StatusesCount
	case Followers:
		id, total = a.FollowersURI, a.FollowersCount
	case Following:
		id, total = a.FollowingURI, a.FollowingCount
	case Featured:
		id = a.FeaturedURI
		if pins, err := in.pinnedNotes(a); err == nil {
			total = int64(len(pins))
		}
	}
	if id == "" || !a.Local() {
		return nil, &NotFoundError{fmt.Sprintf("%s of %s", kind, a.Username)}
	}
	if a.Suspended {
		total = 0
	}
	if page == nil {
		return marshal(collectionDoc{Context: nsActivityStreams, ID: id, Type: "OrderedCollection",
			TotalItems: total, First: id + "?page=true"})
	}
	doc := collectionPageDoc{Context: nsActivityStreams, ID: id + "?page=true", Type: "OrderedCollectionPage",
		TotalItems: total, PartOf: id, OrderedItems: []any{}}
	if page.MaxID != 0 {
		doc.ID += "&max_id=" + page.MaxID.String()
	}
	if a.Suspended {
		return marshal(doc)
	}
	if kind == Featured {
		items, err := in.pinnedNotes(a)
		if err != nil {
			return nil, err
		}
		doc.OrderedItems = items
		return marshal(doc)
	}
	last, err := in.collectionItems(a, kind, page.MaxID, &doc.OrderedItems)
	if err != nil {
		return nil, err
	}
	if len(doc.OrderedItems) == collectionPageSize {
		doc.Next = id + "?page=true&max_id=" + last.String()
	}
	return marshal(doc)
}

// pinnedNotes renders an account's pinned statuses as Notes.
func (in *Instance) pinnedNotes(a *storage.Account) ([]any, error) {
	items := []any{}
	var pinned []*storage.Status
	if err := in.store.View(func(tx *storage.Tx) error {
		ids, err := tx.Pins(a.ID, maxPins)
		if err != nil {
			return err
		}
		for _, id := range ids {
			// Peers see only what is public; followers-only pins stay in
			// the API for those who may see them.
			if s, err := tx.Status(id); err == nil && (s.Visibility == storage.VisibilityPublic || s.Visibility == storage.VisibilityUnlisted) {
				pinned = append(pinned, s)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, s := range pinned {
		raw, err := in.NoteJSON(s)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		delete(m, "@context")
		items = append(items, m)
	}
	return items, nil
}

// collectionItems fills items with one page and returns the cursor of its
// last item.
func (in *Instance) collectionItems(a *storage.Account, kind CollectionKind, maxID storage.ID, items *[]any) (storage.ID, error) {
	var last storage.ID
	var creates []*storage.Status
	err := in.store.View(func(tx *storage.Tx) error {
		switch kind {
		case Outbox:
			cursor := maxID
			for len(creates) < collectionPageSize {
				batch, err := tx.AccountStatuses(a.ID, storage.Page{MaxID: cursor, Limit: collectionPageSize})
				if err != nil || len(batch) == 0 {
					return err
				}
				for _, s := range batch {
					cursor = s.ID
					if (s.Visibility == storage.VisibilityPublic || s.Visibility == storage.VisibilityUnlisted) && len(creates) < collectionPageSize {
						creates = append(creates, s)
						last = s.ID
					}
				}
			}
		case Followers, Following:
			var follows []*storage.Follow
			var err error
			if kind == Followers {
				follows, err = tx.FollowersPage(a.ID, maxID, collectionPageSize)
			} else {
				follows, err = tx.FollowingPage(a.ID, maxID, collectionPageSize)
			}
			if err != nil {
				return err
			}
			for _, f := range follows {
				other := f.FollowerID
				if kind == Following {
					other = f.FollowedID
				}
				acct, err := tx.Account(other)
				if err != nil {
					return err
				}
				*items = append(*items, acct.URI)
				last = other
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, s := range creates {
		render := in.CreateJSON
		if s.ReblogOfID != 0 {
			render = in.AnnounceJSON
		}
		raw, err := render(s)
		if err != nil {
			return 0, err
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return 0, err
		}
		delete(m, "@context")
		*items = append(*items, m)
	}
	return last, nil
}

// marshal encodes v without escaping <, > and &, which appear in HTML
// content and URLs.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
