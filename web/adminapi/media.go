package adminapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/rhizome-fed/rhizome/web/respond"
)

// pruneProgress is one line of the prune answer: the running count, and
// at the end the total or an error.
type pruneProgress struct {
	Done     int    `json:"done"`
	Finished bool   `json:"finished,omitempty"`
	Error    string `json:"error,omitempty"`
}

// pruneMedia drops cached remote files older than ?older_than (a Go
// duration) and answers one JSON line per batch, so the CLI can show
// progress.
func (h *handler) pruneMedia(w http.ResponseWriter, r *http.Request) {
	age, err := time.ParseDuration(r.URL.Query().Get("older_than"))
	if err != nil || age < 0 {
		respond.ErrorMessage(w, http.StatusBadRequest, "older_than must be a duration such as 720h")
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	flusher := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	done, err := h.in.PruneRemoteFiles(r.Context(), time.Now().Add(-age), func(n int) {
		_ = enc.Encode(pruneProgress{Done: n})
		_ = flusher.Flush()
	})
	last := pruneProgress{Done: done, Finished: true}
	if err != nil {
		last.Error = err.Error()
	}
	_ = enc.Encode(last)
}

// PruneMedia asks the server to drop cached remote files older than age;
// progress hears the running count.
func (c *Client) PruneMedia(ctx context.Context, age time.Duration, progress func(done int)) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		"http://rhizome-admin/media/prune?older_than="+url.QueryEscape(age.String()), nil)
	if err != nil {
		return 0, err
	}
	// Pruning a large cache takes longer than the client's usual timeout.
	client := *c.http
	client.Timeout = 0
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("admin socket: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return 0, &RemoteError{Status: resp.StatusCode, Message: e.Error}
	}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		var p pruneProgress
		if err := json.Unmarshal(lines.Bytes(), &p); err != nil {
			return 0, fmt.Errorf("admin socket: bad response: %w", err)
		}
		switch {
		case p.Error != "":
			return p.Done, &RemoteError{Status: http.StatusInternalServerError, Message: p.Error}
		case p.Finished:
			return p.Done, nil
		case progress != nil:
			progress(p.Done)
		}
	}
	return 0, fmt.Errorf("admin socket: answer ended early: %v", lines.Err())
}

// PruneMedia drops cached remote files older than age.
func (l Local) PruneMedia(ctx context.Context, age time.Duration, progress func(done int)) (int, error) {
	return l.In.PruneRemoteFiles(ctx, time.Now().Add(-age), progress)
}
