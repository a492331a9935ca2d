package oauth

import (
	"errors"
	"net/http"

	"github.com/rhizome-fed/rhizome/storage"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// POST /oauth/revoke (RFC 7009). Revoking an unknown token succeeds, so a
// client can retry safely; a token issued to another app is refused.
func (h *handler) revoke(w http.ResponseWriter, r *http.Request) {
	params, err := decodeParams(w, r)
	if err != nil {
		h.writeTokenError(w, r, err)
		return
	}
	notYours := &tokenError{Code: errUnauthorizedClient, Description: "You are not authorized to revoke this token."}
	app, _, err := h.authenticateClient(r, params)
	if errors.Is(err, errBadClient) {
		err = notYours
	}
	if err != nil {
		h.writeTokenError(w, r, err)
		return
	}
	raw := params.Get("token")
	if raw == "" {
		h.writeTokenError(w, r, &tokenError{Code: errInvalidRequest, Description: "Missing required parameter: token."})
		return
	}
	var refused bool
	var revoked []byte
	err = h.store.Batch(r.Context(), func(tx *storage.Tx) error {
		refused, revoked = false, nil // Batch may run this more than once
		t, err := tx.Token(storage.SecretHash(raw))
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if t.AppID != app.ID {
			refused = true
			return nil
		}
		revoked = t.Hash
		return tx.DeleteToken(t.Hash)
	})
	if err == nil && refused {
		err = notYours
	}
	if err != nil {
		h.writeTokenError(w, r, err)
		return
	}
	if revoked != nil && h.onRevoke != nil {
		h.onRevoke(revoked)
	}
	h.log.InfoContext(r.Context(), "token revoked", "app_id", app.ID)
	respond.JSON(w, http.StatusOK, struct{}{})
}
