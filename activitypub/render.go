package activitypub

import (
	"bytes"
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
	if a.Suspended {
		doc.Suspended = true
		doc.Name, doc.Summary, doc.Icon, doc.Image = "", "", nil, nil
		doc.Discoverable, doc.Indexable = false, false
	}
	return marshal(doc)
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
	OrderedItems []any  `json:"orderedItems"`
}

// CollectionJSON renders one of a local account's collections: the
// OrderedCollection itself, or, when page is true, its first
// OrderedCollectionPage. Items come with the federation work; until then
// every page is empty and the totals are the account's counters.
func (in *Instance) CollectionJSON(a *storage.Account, kind CollectionKind, page bool) ([]byte, error) {
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
	}
	if id == "" || !a.Local() {
		return nil, &NotFoundError{fmt.Sprintf("%s of %s", kind, a.Username)}
	}
	if a.Suspended {
		total = 0
	}
	if page {
		return marshal(collectionPageDoc{Context: nsActivityStreams, ID: id + "?page=1",
			Type: "OrderedCollectionPage", TotalItems: total, PartOf: id, OrderedItems: []any{}})
	}
	return marshal(collectionDoc{Context: nsActivityStreams, ID: id, Type: "OrderedCollection",
		TotalItems: total, First: id + "?page=1"})
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
