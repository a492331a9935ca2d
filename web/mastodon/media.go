package mastodon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/media"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// Upload handling.
const (
	// syncImageBytes: images up to this size are processed during the
	// upload request; larger ones, and all video and audio, are processed
	// in the background (POST /api/v2/media answers 202).
	syncImageBytes = 4 << 20
	// staleUploadAge is how long an upload may wait for a post.
	staleUploadAge = 24 * time.Hour
	// maxDescriptionChars is the alt text limit, as Mastodon's.
	maxDescriptionChars = 1500
	uploadQueueSize     = 256 // uploads waiting for the background worker
	uploadReadTimeout   = 10 * time.Minute
	// uploadLimit uploads per uploadWindow per account, as Mastodon's
	// media rate limit: processing an image costs far more than a read.
	uploadLimit  = 30
	uploadWindow = 30 * time.Minute
	// processingSlots is how many uploads are processed at once; the rest
	// wait their turn.
	processingSlots = 2
)

// mediaLimits returns the upload limits with their defaults filled in.
func (o Options) mediaLimits() media.Limits {
	l := o.Media
	if l.MaxImageBytes <= 0 {
		l.MaxImageBytes = media.DefaultMaxImageBytes
	}
	if l.MaxVideoBytes <= 0 {
		l.MaxVideoBytes = media.DefaultMaxVideoBytes
	}
	if l.MaxImagePixels <= 0 {
		l.MaxImagePixels = media.DefaultMaxImagePixels
	}
	return l
}

// UploadBodyLimit returns the body limit of a file upload: the media
// routes take files up to the video limit, update_credentials an avatar
// and a header. It reports false for any other request (and for bodies
// that are not multipart), which keep the server's usual limit.
func UploadBodyLimit(r *http.Request, l media.Limits) (int64, bool) {
	if r.Method == http.MethodGet || !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return 0, false
	}
	l = Options{Media: l}.mediaLimits()
	switch r.URL.Path {
	case "/api/v1/media", "/api/v2/media":
		return max(l.MaxImageBytes, l.MaxVideoBytes) + 1<<20, true
	case "/api/v1/accounts/update_credentials":
		return 2*l.MaxImageBytes + 1<<20, true
	}
	return 0, false
}

// uploadMedia serves POST /api/v1/media (processing always finishes
// before it answers) and POST /api/v2/media (202 while large files and
// video are processed in the background).
func (h *handler) uploadMedia(async bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		me := viewer(r)
		if ok, _, reset := h.uploadsBy.allow(me.ID.String()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(time.Until(reset).Seconds())+1))
			respond.ErrorMessage(w, http.StatusTooManyRequests, "Too many uploads; try again later")
			return
		}
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadReadTimeout))
		up, err := h.readUpload(r)
		if err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		defer os.Remove(up.path)
		m := &storage.Media{ID: h.store.NewID(), AccountID: me.ID, Description: up.description,
			FocusX: up.focus[0], FocusY: up.focus[1], CreatedAt: time.Now().UTC()}
		mime, typ := sniffFile(up.path)
		if typ == "" {
			respond.Error(w, r, h.log, &activitypub.InvalidError{Field: "file", Reason: "is not an image, video or sound file we accept"})
			return
		}
		if !async || (typ == media.TypeImage && up.size <= syncImageBytes) {
			if err := h.processUpload(r.Context(), m, up.path); err != nil {
				respond.Error(w, r, h.log, err)
				return
			}
			respond.JSON(w, http.StatusOK, h.renderer(me).attachment(m))
			return
		}
		if err := h.store.HoldBlobs(func() error {
			raw, err := h.store.Blobs().PutFile(up.path)
			if err != nil {
				return err
			}
			m.Processing, m.Upload, m.MIME, m.Type = true, raw.Hash, mime, typ
			return h.store.Batch(context.WithoutCancel(r.Context()), func(tx *storage.Tx) error { return tx.PutMedia(m) })
		}); err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
		h.uploads.wake(m.ID)
		respond.JSON(w, http.StatusAccepted, h.renderer(me).attachment(m))
	}
}

// upload is a file read from a multipart request into a temporary file.
type upload struct {
	path        string
	size        int64
	description string
	focus       [2]float64
}

// readUpload streams the multipart "file" part to a temporary file in the
// blob store's folder, within the size limit, and reads description and
// focus. A missing or oversized file is a 422 naming it.
func (h *handler) readUpload(r *http.Request) (*upload, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, &activitypub.InvalidError{Field: "file", Reason: "must be sent as multipart/form-data"}
	}
	limits := h.opts.mediaLimits()
	maxBytes := max(limits.MaxImageBytes, limits.MaxVideoBytes)
	up := &upload{}
	fail := func(err error) (*upload, error) {
		if up.path != "" {
			os.Remove(up.path)
		}
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(bodyError(err, "malformed multipart body"))
		}
		switch part.FormName() {
		case "file":
			if up.path != "" {
				return fail(&activitypub.InvalidError{Field: "file", Reason: "was given twice"})
			}
			f, err := h.store.Blobs().TempFile()
			if err != nil {
				return fail(err)
			}
			up.path = f.Name()
			n, err := io.Copy(f, io.LimitReader(part, maxBytes+1))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fail(bodyError(err, "upload interrupted"))
			}
			if n > maxBytes {
				return fail(&activitypub.InvalidError{Field: "file", Reason: fmt.Sprintf("is larger than %d bytes", maxBytes)})
			}
			up.size = n
		case "description":
			v, err := smallPart(part, 4*maxDescriptionChars)
			if err != nil {
				return fail(err)
			}
			if utf8.RuneCountInString(v) > maxDescriptionChars {
				return fail(&activitypub.InvalidError{Field: "description", Reason: fmt.Sprintf("is longer than %d characters", maxDescriptionChars)})
			}
			up.description = strings.TrimSpace(v)
		case "focus":
			v, err := smallPart(part, 64)
			if err != nil {
				return fail(err)
			}
			if up.focus, err = parseFocus(v); err != nil {
				return fail(err)
			}
		default:
			_, _ = io.Copy(io.Discard, io.LimitReader(part, maxBytes)) // thumbnail and the like: not kept
		}
	}
	if up.path == "" {
		return nil, &activitypub.InvalidError{Field: "file", Reason: "can't be blank"}
	}
	return up, nil
}

// bodyError turns a failed body read into the right answer: 413 for a body
// over the server's limit, else a 400 with reason.
func bodyError(err error, reason string) error {
	var big *http.MaxBytesError
	if errors.As(err, &big) {
		return err
	}
	return &respond.BadRequest{Reason: reason}
}

func smallPart(part *multipart.Part, limit int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, limit+1))
	if err != nil {
		return "", bodyError(err, "upload interrupted")
	}
	if int64(len(b)) > limit {
		return "", &activitypub.InvalidError{Field: part.FormName(), Reason: "is too long"}
	}
	return string(b), nil
}

// parseFocus reads Mastodon's focal point "x,y", each from -1 to 1.
func parseFocus(v string) ([2]float64, error) {
	var out [2]float64
	if strings.TrimSpace(v) == "" {
		return out, nil
	}
	xs, ys, ok := strings.Cut(v, ",")
	bad := &activitypub.InvalidError{Field: "focus", Reason: `must be "x,y" with each between -1.0 and 1.0`}
	if !ok {
		return out, bad
	}
	for i, s := range []string{xs, ys} {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || !(f >= -1 && f <= 1) { // NaN fails too
			return out, bad
		}
		out[i] = f
	}
	return out, nil
}

// sniffFile tells an uploaded file's type from its first bytes.
func sniffFile(path string) (mime, typ string) {
	f, err := os.Open(path)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	return media.Sniff(head[:n])
}

// processUpload processes the file at path into m (stripped file, preview,
// dimensions, blurhash) and stores it. Refusals (unsupported, too large,
// too many pixels, corrupt) are 422s; nothing is stored then.
func (h *handler) processUpload(ctx context.Context, m *storage.Media, path string) error {
	p, err := h.runPipeline(ctx, path)
	if err != nil {
		return err
	}
	defer p.Cleanup()
	return h.storeResult(ctx, m, p, func(tx *storage.Tx, m *storage.Media) error { return tx.PutMedia(m) })
}

// runPipeline processes the file at path, waiting for a free slot first;
// its work files go to the blob store's temp folder. Refusals become 422s
// naming the file.
func (h *handler) runPipeline(ctx context.Context, path string) (*media.Processed, error) {
	select {
	case h.processing <- struct{}{}:
		defer func() { <-h.processing }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p, err := media.Process(ctx, path, h.opts.mediaLimits(), h.store.Blobs().TempDir())
	if err != nil {
		for _, refusal := range []error{media.ErrUnsupported, media.ErrTooLarge, media.ErrTooManyPixels, media.ErrCorrupt} {
			if errors.Is(err, refusal) {
				return nil, &activitypub.InvalidError{Field: "file", Reason: strings.TrimPrefix(strings.TrimPrefix(err.Error(), "media: "), "file ")}
			}
		}
		return nil, err
	}
	return p, nil
}

// storeResult stores a processed file and its preview, fills m's file
// fields and commits write(tx, m), all while holding the blob store (so
// no collection removes the new files before m holds them). Once the
// files are stored the commit goes ahead even if the client has gone, so
// they are never left unreferenced.
func (h *handler) storeResult(ctx context.Context, m *storage.Media, p *media.Processed, write func(tx *storage.Tx, m *storage.Media) error) error {
	return h.store.HoldBlobs(func() error {
		file, err := h.store.Blobs().PutFile(p.File)
		if err != nil {
			return err
		}
		m.File, m.Size, m.MIME, m.Type = file.Hash, file.Size, p.MIME, p.Type
		m.Width, m.Height, m.Duration, m.Blurhash = p.Original.Width, p.Original.Height, p.Duration, p.Blurhash
		m.Preview, m.SmallWidth, m.SmallHeight = "", 0, 0
		if len(p.Preview) > 0 {
			preview, err := h.store.Blobs().Put(bytes.NewReader(p.Preview), 0)
			if err != nil {
				return err
			}
			m.Preview, m.SmallWidth, m.SmallHeight = preview.Hash, p.Small.Width, p.Small.Height
		}
		m.Processing, m.Upload, m.Failed = false, "", ""
		return h.store.Batch(context.WithoutCancel(ctx), func(tx *storage.Tx) error { return write(tx, m) })
	})
}

// ownMedia loads one of the viewer's uploads named in the path.
func (h *handler) ownMedia(r *http.Request) (*storage.Media, error) {
	id, err := storage.ParseID(mux.Vars(r)["id"])
	if err != nil {
		return nil, storage.ErrNotFound
	}
	var m *storage.Media
	err = h.store.View(func(tx *storage.Tx) error {
		m, err = tx.Media(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if m.AccountID != viewer(r).ID || m.Use != "" {
		return nil, storage.ErrNotFound
	}
	return m, nil
}

// getMedia serves GET /api/v1/media/:id: 206 while processing, 200 when
// done, 422 when processing failed.
func (h *handler) getMedia(w http.ResponseWriter, r *http.Request) {
	m, err := h.ownMedia(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	switch {
	case m.Failed != "":
		respond.ErrorMessage(w, http.StatusUnprocessableEntity, "Processing failed: "+m.Failed)
	case m.Processing:
		respond.JSON(w, http.StatusPartialContent, h.renderer(viewer(r)).attachment(m))
	default:
		respond.JSON(w, http.StatusOK, h.renderer(viewer(r)).attachment(m))
	}
}

// updateMedia serves PUT /api/v1/media/:id: alt text and focal point of an
// upload not yet attached (as Mastodon, attached ones are 404).
func (h *handler) updateMedia(w http.ResponseWriter, r *http.Request) {
	m, err := h.ownMedia(r)
	if err == nil && m.StatusID != 0 {
		err = storage.ErrNotFound
	}
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	p, err := params(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	description, hasDescription := p["description"]
	if hasDescription && len(description) > 0 && utf8.RuneCountInString(description[0]) > maxDescriptionChars {
		respond.Error(w, r, h.log, &activitypub.InvalidError{Field: "description", Reason: fmt.Sprintf("is longer than %d characters", maxDescriptionChars)})
		return
	}
	var focus [2]float64
	_, hasFocus := p["focus"]
	if hasFocus {
		if focus, err = parseFocus(p.Get("focus")); err != nil {
			respond.Error(w, r, h.log, err)
			return
		}
	}
	var updated *storage.Media
	err = h.store.Batch(r.Context(), func(tx *storage.Tx) error {
		current, err := tx.Media(m.ID)
		if err != nil {
			return err
		}
		if current.StatusID != 0 {
			return storage.ErrNotFound
		}
		if hasDescription && len(description) > 0 {
			current.Description = strings.TrimSpace(description[0])
		}
		if hasFocus {
			current.FocusX, current.FocusY = focus[0], focus[1]
		}
		updated = current
		return tx.PutMedia(current)
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	code := http.StatusOK
	if updated.Processing {
		code = http.StatusPartialContent
	}
	respond.JSON(w, code, h.renderer(viewer(r)).attachment(updated))
}

// deleteMedia serves DELETE /api/v1/media/:id (Mastodon 4.4): an upload
// not on a post is removed; one on a post is a 422.
func (h *handler) deleteMedia(w http.ResponseWriter, r *http.Request) {
	m, err := h.ownMedia(r)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	err = h.store.Batch(r.Context(), func(tx *storage.Tx) error {
		current, err := tx.Media(m.ID)
		if err != nil {
			return err
		}
		if current.StatusID != 0 {
			return &activitypub.InvalidError{Field: "media", Reason: "is attached to a post; delete or edit the post instead"}
		}
		return tx.DeleteMedia(m.ID)
	})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{})
}

// profileImage processes an avatar or header sent to update_credentials
// and stores it as an upload for that use; nil when the field is absent.
func (h *handler) profileImage(ctx context.Context, r *http.Request, me *storage.Account, field string) (*storage.ID, error) {
	if r.MultipartForm == nil || len(r.MultipartForm.File[field]) == 0 {
		return nil, nil
	}
	fh := r.MultipartForm.File[field][0]
	limits := h.opts.mediaLimits()
	if fh.Size > limits.MaxImageBytes {
		return nil, &activitypub.InvalidError{Field: field, Reason: fmt.Sprintf("is larger than %d bytes", limits.MaxImageBytes)}
	}
	src, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer src.Close()
	tmp, err := h.store.Blobs().TempFile()
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if _, typ := sniffFile(tmp.Name()); typ != media.TypeImage {
		return nil, &activitypub.InvalidError{Field: field, Reason: "must be a JPEG, PNG, GIF or WebP image"}
	}
	m := &storage.Media{ID: h.store.NewID(), AccountID: me.ID, Use: field, CreatedAt: time.Now().UTC()}
	if err := h.processUpload(ctx, m, tmp.Name()); err != nil {
		var invalid *activitypub.InvalidError
		if errors.As(err, &invalid) {
			invalid.Field = field
		}
		return nil, err
	}
	return &m.ID, nil
}

// dropUploads deletes profile images processed for a change that then
// failed.
func (h *handler) dropUploads(ctx context.Context, ids ...*storage.ID) {
	err := h.store.Batch(context.WithoutCancel(ctx), func(tx *storage.Tx) error {
		for _, id := range ids {
			if id != nil {
				if err := tx.DeleteMedia(*id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		h.log.ErrorContext(ctx, "removing unused profile images failed", "err", err)
	}
}

// mediaAttributes reads the attachment changes of an edit, as apps send
// them: media_attributes[0][id], [description], [focus] (JSON arrays
// arrive indexed), or media_attributes[][id] … in order (forms).
func mediaAttributes(p url.Values) ([]activitypub.MediaChange, error) {
	type fields struct{ id, description, focus []string }
	byIndex := map[string]*fields{}
	var order []string
	for key, values := range p {
		rest, ok := strings.CutPrefix(key, "media_attributes[")
		if !ok {
			continue
		}
		index, field, ok := strings.Cut(rest, "][")
		if !ok {
			continue
		}
		f := byIndex[index]
		if f == nil {
			f = &fields{}
			byIndex[index] = f
			order = append(order, index)
		}
		switch strings.TrimSuffix(field, "]") {
		case "id":
			f.id = values
		case "description":
			f.description = values
		case "focus":
			f.focus = values
		}
	}
	slices.SortFunc(order, func(a, b string) int { // "2" before "10"
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	var out []activitypub.MediaChange
	for _, index := range order {
		f := byIndex[index]
		for i, raw := range f.id { // "[]" keys hold one value per attachment
			id, err := storage.ParseID(raw)
			if err != nil {
				return nil, &activitypub.InvalidError{Field: "media_attributes", Reason: fmt.Sprintf("%q is not an ID", raw)}
			}
			c := activitypub.MediaChange{ID: id}
			if i < len(f.description) {
				c.Description = &f.description[i]
			}
			if i < len(f.focus) {
				focus, err := parseFocus(f.focus[i])
				if err != nil {
					return nil, err
				}
				c.Focus = &focus
			}
			out = append(out, c)
		}
	}
	return out, nil
}
