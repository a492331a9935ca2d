package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// SocketName is the admin socket's file name inside the data folder.
const SocketName = "admin.sock"

// maxRequestBytes bounds an admin request body.
const maxRequestBytes = 64 << 10

// Account is a local account as the admin commands show it.
type Account struct {
	Username  string    `json:"username"`
	Email     string    `json:"email"`
	Admin     bool      `json:"admin"`
	Suspended bool      `json:"suspended"`
	CreatedAt time.Time `json:"created_at"`
}

func accountOf(la *activitypub.LocalAccount) Account {
	return Account{
		Username:  la.Account.Username,
		Email:     la.User.Email,
		Admin:     la.User.Admin,
		Suspended: la.Account.Suspended,
		CreatedAt: la.Account.CreatedAt,
	}
}

// NewAccount is the body of a create request.
type NewAccount struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Admin    bool   `json:"admin"`
}

type passwordChange struct {
	Password string `json:"password"`
}

type flagChange struct {
	Value bool `json:"value"`
}

type handler struct {
	in  *activitypub.Instance
	log *slog.Logger
}

// Handler serves the admin API for in.
func Handler(in *activitypub.Instance, log *slog.Logger) http.Handler {
	h := &handler{in: in, log: log}
	r := mux.NewRouter()
	r.HandleFunc("/accounts", h.list).Methods(http.MethodGet)
	r.HandleFunc("/accounts", h.create).Methods(http.MethodPost)
	r.HandleFunc("/accounts/{username}/password", h.password).Methods(http.MethodPost)
	r.HandleFunc("/accounts/{username}/admin", h.flag(in.SetAdmin)).Methods(http.MethodPost)
	r.HandleFunc("/accounts/{username}/suspended", h.flag(in.SetSuspended)).Methods(http.MethodPost)
	r.HandleFunc("/reports", h.reports).Methods(http.MethodGet)
	r.HandleFunc("/media/prune", h.pruneMedia).Methods(http.MethodPost)
	return r
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	out, err := Local{h.in}.ListAccounts(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	var req NewAccount
	if !h.decode(w, r, &req) {
		return
	}
	out, err := Local{h.in}.CreateAccount(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, out)
}

func (h *handler) password(w http.ResponseWriter, r *http.Request) {
	var req passwordChange
	if !h.decode(w, r, &req) {
		return
	}
	if err := h.in.SetPassword(r.Context(), mux.Vars(r)["username"], req.Password); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) flag(set func(context.Context, string, bool) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req flagChange
		if !h.decode(w, r, &req) {
			return
		}
		if err := set(r.Context(), mux.Vars(r)["username"], req.Value); err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			h.fail(w, r, err)
		} else {
			h.fail(w, r, &respond.BadRequest{Reason: "invalid request body: " + err.Error()})
		}
		return false
	}
	return true
}

// fail answers with the error's own message: the admin socket's only
// client is the operator, who needs the reason, not a generic phrase.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := respond.Status(err)
	msg := err.Error()
	if code >= 500 {
		h.log.ErrorContext(r.Context(), "admin request failed", "path", r.URL.Path, "err", err)
		msg = "internal error; the server log has the cause"
	}
	respond.ErrorMessage(w, code, msg)
}

// RemoteError is an error the server reported.
type RemoteError struct {
	Status  int
	Message string
}

func (e *RemoteError) Error() string { return e.Message }

// Report is a report from another instance, as the admin commands show it.
type Report struct {
	ID        string    `json:"id"`
	Reporter  string    `json:"reporter"`
	Accounts  []string  `json:"accounts"`
	Statuses  []string  `json:"statuses,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func (h *handler) reports(w http.ResponseWriter, r *http.Request) {
	out, err := Local{h.in}.ListReports(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}
