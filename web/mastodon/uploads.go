package mastodon

import (
	"context"
	"errors"
	"time"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/storage"
)

// uploads processes uploads in the background (video, audio, large
// images) and removes uploads never attached to a post. Waiting uploads
// are recorded in the store, so a restart picks them up again.
type uploads struct {
	h      *handler
	queue  chan storage.ID
	sweeps int // sweeps done; run's goroutine only
}

func newUploads(h *handler) *uploads {
	return &uploads{h: h, queue: make(chan storage.ID, uploadQueueSize)}
}

// wake queues an upload for processing. A full queue drops the wake-up:
// the next sweep finds the upload in the store.
func (u *uploads) wake(id storage.ID) {
	select {
	case u.queue <- id:
	default:
	}
}

// sweepInterval is how often waiting and stale uploads are looked for,
// and released files removed; every orphanSweeps sweeps (and at start)
// the whole file store is walked for files nothing holds.
const (
	sweepInterval = 10 * time.Minute
	orphanSweeps  = 36
)

// blobGrace keeps a released file that was written or re-put lately: an
// upload of the same content may be about to commit its record.
const blobGrace = time.Hour

// run processes uploads until ctx ends.
func (u *uploads) run(ctx context.Context) {
	u.sweep(ctx)
	tick := time.NewTicker(sweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-u.queue:
			u.process(ctx, id)
		case <-tick.C:
			u.sweep(ctx)
		}
	}
}

// sweep queues the uploads waiting for processing, deletes those left
// unattached for a day and removes files no record holds.
func (u *uploads) sweep(ctx context.Context) {
	defer func() {
		if n, err := u.h.store.CollectBlobs(ctx, blobGrace); err != nil {
			u.h.log.ErrorContext(ctx, "removing released files failed", "err", err)
		} else if n > 0 {
			u.h.log.InfoContext(ctx, "removed released files", "count", n)
		}
		if age := u.h.opts.RemoteCacheAge; age > 0 && u.sweeps%orphanSweeps == 0 {
			if n, err := u.h.in.PruneRemoteFiles(ctx, time.Now().Add(-age), nil); err != nil {
				u.h.log.ErrorContext(ctx, "pruning the remote file cache failed", "err", err)
			} else if n > 0 {
				u.h.log.InfoContext(ctx, "pruned the remote file cache", "count", n, "older_than", age)
			}
		}
		if u.sweeps%orphanSweeps == 0 {
			if n, err := u.h.store.CollectOrphans(ctx, blobGrace); err != nil {
				u.h.log.ErrorContext(ctx, "removing orphaned files failed", "err", err)
			} else if n > 0 {
				u.h.log.InfoContext(ctx, "removed files no record held", "count", n)
			}
		}
		u.sweeps++
	}()
	var waiting, stale []storage.ID
	if err := u.h.store.View(func(tx *storage.Tx) error {
		var err error
		if waiting, err = tx.ProcessingMedia(); err != nil {
			return err
		}
		stale, err = tx.StaleUploads(time.Now().Add(-staleUploadAge), 500)
		return err
	}); err != nil {
		u.h.log.ErrorContext(ctx, "looking for uploads failed", "err", err)
		return
	}
	for _, id := range waiting {
		u.wake(id)
	}
	if len(stale) == 0 {
		return
	}
	err := u.h.store.Batch(ctx, func(tx *storage.Tx) error {
		for _, id := range stale {
			if unused, err := tx.UploadUnused(id); err != nil || !unused {
				continue // attached or shown meanwhile, or gone
			}
			if err := tx.DeleteMedia(id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		u.h.log.ErrorContext(ctx, "removing unattached uploads failed", "err", err)
		return
	}
	u.h.log.InfoContext(ctx, "removed unattached uploads", "count", len(stale))
}

// process runs the media pipeline on one waiting upload.
func (u *uploads) process(ctx context.Context, id storage.ID) {
	var m *storage.Media
	if err := u.h.store.View(func(tx *storage.Tx) error {
		var err error
		m, err = tx.Media(id)
		return err
	}); err != nil || !m.Processing {
		return // gone or done
	}
	// Process the raw upload where it is stored: the record holds it, so
	// it stays until the record lets go, and Process never writes to it.
	f, err := u.h.store.Blobs().Open(m.Upload)
	if err != nil {
		u.fail(ctx, m, "the upload was lost")
		return
	}
	path := f.Name()
	f.Close()
	p, err := u.h.runPipeline(ctx, path)
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: the next start tries again
		}
		var invalid *activitypub.InvalidError
		if errors.As(err, &invalid) {
			u.fail(ctx, m, invalid.Reason)
			return
		}
		u.retryLater(ctx, m, err)
		return
	}
	defer p.Cleanup()
	processed := *m
	err = u.h.storeResult(ctx, &processed, p, func(tx *storage.Tx, pm *storage.Media) error {
		current, err := tx.Media(id)
		if err != nil || !current.Processing {
			return err
		}
		// Keep what the user changed meanwhile (alt text, focus, post).
		pm.Description, pm.FocusX, pm.FocusY = current.Description, current.FocusX, current.FocusY
		pm.StatusID, pm.Attempts = current.StatusID, current.Attempts
		return tx.PutMedia(pm)
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		u.h.log.ErrorContext(ctx, "storing processed upload failed", "media", id, "err", err)
	}
}

// maxAttempts is how often an upload's processing may fail for reasons
// other than its content (a tool timing out, a full disk) before it is
// given up.
const maxAttempts = 3

// retryLater counts a failed attempt; the next sweep tries again, until
// maxAttempts, when the upload is marked failed.
func (u *uploads) retryLater(ctx context.Context, m *storage.Media, cause error) {
	u.h.log.WarnContext(ctx, "processing upload failed", "media", m.ID, "attempt", m.Attempts+1, "err", cause)
	if m.Attempts+1 >= maxAttempts {
		u.fail(ctx, m, "it could not be processed")
		return
	}
	err := u.h.store.Batch(ctx, func(tx *storage.Tx) error {
		current, err := tx.Media(m.ID)
		if err != nil {
			return err
		}
		current.Attempts++
		return tx.PutMedia(current)
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		u.h.log.ErrorContext(ctx, "recording a failed attempt failed", "media", m.ID, "err", err)
	}
}

// fail records why an upload could not be processed and drops its file.
func (u *uploads) fail(ctx context.Context, m *storage.Media, reason string) {
	err := u.h.store.Batch(ctx, func(tx *storage.Tx) error {
		current, err := tx.Media(m.ID)
		if err != nil {
			return err
		}
		current.Processing, current.Upload, current.Failed = false, "", reason
		return tx.PutMedia(current)
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		u.h.log.ErrorContext(ctx, "recording failed upload failed", "media", m.ID, "err", err)
	}
}
