package mastodon

import (
	"cmp"
	"fmt"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/files"
)

// timeFormat is Mastodon's: ISO 8601 with milliseconds, in UTC.
const timeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

func optionalID(id storage.ID) *string {
	if id == 0 {
		return nil
	}
	s := id.String()
	return &s
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Account is Mastodon's Account entity. Every field Mastodon always sends
// is always present.
type Account struct {
	ID             string  `json:"id"`
	Username       string  `json:"username"`
	Acct           string  `json:"acct"`
	DisplayName    string  `json:"display_name"`
	Locked         bool    `json:"locked"`
	Bot            bool    `json:"bot"`
	Discoverable   bool    `json:"discoverable"`
	Indexable      bool    `json:"indexable"`
	Group          bool    `json:"group"`
	CreatedAt      string  `json:"created_at"`
	Note           string  `json:"note"`
	URL            string  `json:"url"`
	URI            string  `json:"uri"`
	Avatar         string  `json:"avatar"`
	AvatarStatic   string  `json:"avatar_static"`
	Header         string  `json:"header"`
	HeaderStatic   string  `json:"header_static"`
	FollowersCount int64   `json:"followers_count"`
	FollowingCount int64   `json:"following_count"`
	StatusesCount  int64   `json:"statuses_count"`
	LastStatusAt   *string `json:"last_status_at"`
	HideCollection bool    `json:"hide_collections"`
	Noindex        bool    `json:"noindex"`
	Emojis         []any   `json:"emojis"`
	Roles          []any   `json:"roles"`
	Fields         []any   `json:"fields"`
	Suspended      bool    `json:"suspended,omitempty"`
	Source         *Source `json:"source,omitempty"`
	Role           *Role   `json:"role,omitempty"`
}

// Source is the editable form of the signed-in account.
type Source struct {
	Privacy             string `json:"privacy"`
	Sensitive           bool   `json:"sensitive"`
	Language            string `json:"language"`
	Note                string `json:"note"`
	Fields              []any  `json:"fields"`
	FollowRequestsCount int64  `json:"follow_requests_count"`
}

// Role is the signed-in account's role.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Permissions string `json:"permissions"`
	Color       string `json:"color"`
	Highlighted bool   `json:"highlighted"`
}

// Status is Mastodon's Status entity.
type Status struct {
	ID                 string       `json:"id"`
	URI                string       `json:"uri"`
	URL                *string      `json:"url"`
	CreatedAt          string       `json:"created_at"`
	Account            Account      `json:"account"`
	Content            string       `json:"content"`
	Visibility         string       `json:"visibility"`
	Sensitive          bool         `json:"sensitive"`
	SpoilerText        string       `json:"spoiler_text"`
	MediaAttachments   []Attachment `json:"media_attachments"`
	Application        any          `json:"application"`
	Mentions           []Mention    `json:"mentions"`
	Tags               []Tag        `json:"tags"`
	Emojis             []any        `json:"emojis"`
	ReblogsCount       int64        `json:"reblogs_count"`
	FavouritesCount    int64        `json:"favourites_count"`
	RepliesCount       int64        `json:"replies_count"`
	InReplyToID        *string      `json:"in_reply_to_id"`
	InReplyToAccountID *string      `json:"in_reply_to_account_id"`
	Reblog             *Status      `json:"reblog"`
	Poll               any          `json:"poll"`
	Card               any          `json:"card"`
	Language           *string      `json:"language"`
	Text               *string      `json:"text"`
	EditedAt           *string      `json:"edited_at"`
	Favourited         bool         `json:"favourited"`
	Reblogged          bool         `json:"reblogged"`
	Muted              bool         `json:"muted"`
	Bookmarked         bool         `json:"bookmarked"`
	Pinned             bool         `json:"pinned"`
	Filtered           []any        `json:"filtered"`
}

// Attachment is a MediaAttachment entity. URL is null while an upload
// is processing.
type Attachment struct {
	ID               string         `json:"id"`
	Type             string         `json:"type"`
	URL              *string        `json:"url"`
	PreviewURL       *string        `json:"preview_url"`
	RemoteURL        *string        `json:"remote_url"`
	PreviewRemoteURL *string        `json:"preview_remote_url"`
	TextURL          *string        `json:"text_url"`
	Meta             AttachmentMeta `json:"meta"`
	Description      *string        `json:"description"`
	Blurhash         *string        `json:"blurhash"`
}

// AttachmentMeta is an attachment's sizes and focal point.
type AttachmentMeta struct {
	// Length ("0:01:05.30") and Duration (seconds) of video and sound, at
	// the top as Mastodon puts them, and in Original.
	Length   string     `json:"length,omitempty"`
	Duration float64    `json:"duration,omitempty"`
	Original *MediaSize `json:"original,omitempty"`
	Small    *MediaSize `json:"small,omitempty"`
	Focus    *Focus     `json:"focus,omitempty"`
}

// MediaSize describes one rendition of an attachment.
type MediaSize struct {
	Width    int     `json:"width,omitempty"`
	Height   int     `json:"height,omitempty"`
	Size     string  `json:"size,omitempty"`
	Aspect   float64 `json:"aspect,omitempty"`
	Duration float64 `json:"duration,omitempty"`
}

// Focus is an image's focal point, each axis from -1 to 1.
type Focus struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Mention is a status's Mention entity.
type Mention struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	URL      string `json:"url"`
	Acct     string `json:"acct"`
}

// Tag is a status's Tag entity.
type Tag struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Relationship is the viewer's relationship with another account.
type Relationship struct {
	ID                  string `json:"id"`
	Following           bool   `json:"following"`
	ShowingReblogs      bool   `json:"showing_reblogs"`
	Notifying           bool   `json:"notifying"`
	Languages           any    `json:"languages"`
	FollowedBy          bool   `json:"followed_by"`
	Blocking            bool   `json:"blocking"`
	BlockedBy           bool   `json:"blocked_by"`
	Muting              bool   `json:"muting"`
	MutingNotifications bool   `json:"muting_notifications"`
	Requested           bool   `json:"requested"`
	RequestedBy         bool   `json:"requested_by"`
	DomainBlocking      bool   `json:"domain_blocking"`
	Endorsed            bool   `json:"endorsed"`
	Note                string `json:"note"`
}

// renderer builds entities; one per request.
type renderer struct {
	in     *activitypub.Instance
	base   string // https://domain
	viewer *storage.Account
	// context and filters apply the viewer's filters where they are
	// rendered ("home", "public" …); empty context: none apply.
	context string
	filters []*storage.Filter
}

// inContext loads the viewer's filters for rendering in context.
func (rd *renderer) inContext(tx *storage.Tx, context string) error {
	rd.context = context
	if rd.viewer == nil || context == "" {
		return nil
	}
	var err error
	rd.filters, err = tx.Filters(rd.viewer.ID)
	return err
}

func (h *handler) renderer(v *storage.Account) *renderer {
	return &renderer{in: h.in, base: h.in.BaseURL(), viewer: v}
}

// attachment renders a MediaAttachment. Remote files are served through
// this instance's cache.
func (rd *renderer) attachment(m *storage.Media) Attachment {
	at := Attachment{ID: m.ID.String(), Type: m.Type, Description: optionalString(m.Description),
		Blurhash: optionalString(m.Blurhash)}
	if at.Type == "" {
		at.Type = "unknown"
	}
	size := func(w, h int) *MediaSize {
		if w <= 0 || h <= 0 {
			return nil
		}
		return &MediaSize{Width: w, Height: h, Size: fmt.Sprintf("%dx%d", w, h), Aspect: float64(w) / float64(h)}
	}
	at.Meta.Original = size(m.Width, m.Height)
	if m.Duration > 0 {
		if at.Meta.Original == nil {
			at.Meta.Original = &MediaSize{}
		}
		at.Meta.Original.Duration = m.Duration
		at.Meta.Duration = m.Duration
		total := int(m.Duration)
		at.Meta.Length = fmt.Sprintf("%d:%02d:%05.2f", total/3600, total/60%60, m.Duration-float64(total/60*60))
	}
	at.Meta.Small = size(m.SmallWidth, m.SmallHeight)
	if m.Type == "image" || m.Type == "video" {
		at.Meta.Focus = &Focus{X: m.FocusX, Y: m.FocusY}
	}
	switch {
	case !m.Local():
		link := files.ProxyURL(rd.base, m.ID, rd.in.MediaToken(m.ID))
		at.URL, at.RemoteURL = &link, &m.RemoteURL
		if m.Type == "image" {
			at.PreviewURL = &link // no thumbnail of remote video or sound: null, not the whole file
		}
	case m.File != "":
		link := rd.in.MediaURL(m.File, m.MIME)
		at.URL = &link
		switch {
		case m.Preview != "":
			preview := rd.in.MediaURL(m.Preview, "image/jpeg")
			at.PreviewURL = &preview
		case m.Type == "image":
			at.PreviewURL = &link
		} // video and sound without a frame: no preview (null)
	}
	return at
}

// account renders an Account.
func (rd *renderer) account(a *storage.Account) Account {
	acct := a.Username
	if !a.Local() {
		acct += "@" + a.Domain
	}
	avatar, header := a.AvatarURL, a.HeaderURL
	if !a.Local() && avatar != "" {
		avatar = files.AvatarURL(rd.base, a.ID)
	}
	if !a.Local() && header != "" {
		header = files.HeaderURL(rd.base, a.ID)
	}
	if avatar == "" {
		avatar = rd.base + pathDefaultAvatar
	}
	if header == "" {
		header = rd.base + pathDefaultHeader
	}
	name := a.DisplayName
	if a.Suspended {
		name = ""
	}
	created := a.CreatedAt.UTC().Truncate(24 * time.Hour)
	return Account{
		ID: a.ID.String(), Username: a.Username, Acct: acct, DisplayName: name,
		Locked: a.Locked, Bot: a.ActorType == "Service" || a.ActorType == "Application", Group: a.ActorType == "Group",
		Discoverable: a.Discoverable, Indexable: a.Discoverable,
		CreatedAt: formatTime(created), Note: a.Note, URL: cmp.Or(a.URL, a.URI), URI: a.URI,
		Avatar: avatar, AvatarStatic: avatar, Header: header, HeaderStatic: header,
		FollowersCount: a.FollowersCount, FollowingCount: a.FollowingCount, StatusesCount: a.StatusesCount,
		Emojis: []any{}, Roles: []any{}, Fields: fieldsOf(a), Suspended: a.Suspended,
	}
}

// fieldsOf renders profile fields as Mastodon's Field entities.
func fieldsOf(a *storage.Account) []any {
	out := []any{}
	if a.Suspended {
		return out
	}
	for _, f := range a.Fields {
		out = append(out, map[string]any{"name": f.Name, "value": f.Value, "verified_at": nil})
	}
	return out
}

// statuses renders statuses with their authors, mentions and the viewer's
// relations to them, in one read transaction.
func (rd *renderer) statuses(tx *storage.Tx, list []*storage.Status) ([]Status, error) {
	out := make([]Status, 0, len(list))
	for _, s := range list {
		st, err := rd.status(tx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (rd *renderer) status(tx *storage.Tx, s *storage.Status) (Status, error) {
	author, err := tx.Account(s.AccountID)
	if err != nil {
		return Status{}, err
	}
	st := Status{
		ID: s.ID.String(), URI: s.URI, URL: optionalString(s.URL), CreatedAt: formatTime(s.CreatedAt),
		Account: rd.account(author), Content: s.Content, Visibility: s.Visibility, Sensitive: s.Sensitive,
		SpoilerText: s.Summary, MediaAttachments: []Attachment{}, Mentions: []Mention{}, Tags: []Tag{},
		Emojis: []any{}, ReblogsCount: s.ReblogsCount, FavouritesCount: s.FavouritesCount, RepliesCount: s.RepliesCount,
		InReplyToID: optionalID(s.InReplyToID), InReplyToAccountID: optionalID(s.InReplyToAccountID),
		Language: optionalString(s.Language), EditedAt: optionalTime(s.EditedAt), Filtered: []any{},
	}
	if s.ReblogOfID != 0 {
		original, err := tx.Status(s.ReblogOfID)
		if err != nil {
			return Status{}, err
		}
		inner, err := rd.status(tx, original)
		if err != nil {
			return Status{}, err
		}
		st.Reblog = &inner
		st.Content, st.URL = "", nil
	}
	attachments, err := tx.StatusMedia(s)
	if err != nil {
		return Status{}, err
	}
	for _, m := range attachments {
		st.MediaAttachments = append(st.MediaAttachments, rd.attachment(m))
	}
	for _, id := range s.Mentions {
		m, err := tx.Account(id)
		if err != nil {
			continue
		}
		acct := m.Username
		if !m.Local() {
			acct += "@" + m.Domain
		}
		st.Mentions = append(st.Mentions, Mention{ID: m.ID.String(), Username: m.Username, URL: cmp.Or(m.URL, m.URI), Acct: acct})
	}
	for _, tag := range s.Tags {
		st.Tags = append(st.Tags, Tag{Name: tag, URL: rd.base + "/tags/" + tag})
	}
	if results, _ := rd.matchFilters(tx, s); results != nil {
		st.Filtered = make([]any, len(results))
		for i := range results {
			st.Filtered[i] = results[i]
		}
	}
	if rd.viewer != nil {
		if _, err := tx.Favourite(rd.viewer.ID, s.ID); err == nil {
			st.Favourited = true
		}
		if st.Bookmarked, err = tx.Bookmarked(rd.viewer.ID, s.ID); err != nil {
			return Status{}, err
		}
		if st.Muted, err = tx.ThreadMuted(rd.viewer.ID, tx.ThreadRoot(s)); err != nil {
			return Status{}, err
		}
		if s.AccountID == rd.viewer.ID {
			if st.Pinned, err = tx.Pinned(rd.viewer.ID, s.ID); err != nil {
				return Status{}, err
			}
		}
		if _, err := tx.BoostBy(rd.viewer.ID, s.ID); err == nil {
			st.Reblogged = true
		}
	}
	return st, nil
}

// relationship renders the viewer's relationship with other.
func (rd *renderer) relationship(tx *storage.Tx, other *storage.Account) (Relationship, error) {
	rel := Relationship{ID: other.ID.String(), Note: ""}
	if rd.viewer == nil {
		return rel, nil
	}
	if f, err := tx.Follow(rd.viewer.ID, other.ID); err == nil {
		rel.Following, rel.Requested = !f.Pending, f.Pending
		rel.ShowingReblogs, rel.Notifying = !f.HideReblogs, f.Notify
	}
	if f, err := tx.Follow(other.ID, rd.viewer.ID); err == nil {
		rel.FollowedBy, rel.RequestedBy = !f.Pending, f.Pending
	}
	var err error
	if rel.Blocking, err = tx.Blocks(rd.viewer.ID, other.ID); err != nil {
		return rel, err
	}
	if rel.BlockedBy, err = tx.Blocks(other.ID, rd.viewer.ID); err != nil {
		return rel, err
	}
	if rel.Muting, err = tx.Mutes(rd.viewer.ID, other.ID); err != nil {
		return rel, err
	}
	rel.MutingNotifications = rel.Muting
	return rel, nil
}
