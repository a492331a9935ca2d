package oauth

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"

	"github.com/rhizome-fed/rhizome/web/respond"
)

//go:embed templates/*.html
var templateFiles embed.FS

// parsePage parses one page with the shared layout. The templates are
// embedded, so a parse error is a build defect and panics at Mount.
func parsePage(name string) *template.Template {
	return template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name))
}

// pageHeaders are set on every HTML page: nothing here may be cached,
// framed (clickjacking the consent buttons) or leak the URL onwards.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
}

// page is what every template receives; Data holds the page's own fields.
type page struct {
	Title string // the instance's
	Data  any
}

// render executes a page into a buffer first, so a template error is a
// clean 500 rather than half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, code int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", page{Title: h.in.Title(), Data: data}); err != nil {
		h.log.ErrorContext(r.Context(), "page template failed", "path", r.URL.Path, "err", err)
		http.Error(w, "Internal server error", http.StatusInternalServerError)
		return
	}
	pageHeaders(w)
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}

// errorPage shows an error to the person at the browser. It is used where
// RFC 6749 forbids redirecting back to the app: an unknown client or a
// redirect URI that is not registered.
type errorPage struct {
	Heading string
	Message string
}

func (h *handler) pageError(w http.ResponseWriter, r *http.Request, code int, heading, message string) {
	h.render(w, r, code, h.errorPage, errorPage{Heading: heading, Message: message})
}

// failure shows err as a page with the status respond picks for it. A 5xx
// is logged and its cause never shown; a client that left gets nothing.
func (h *handler) failure(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		return
	}
	code := respond.Status(err)
	if code >= 500 {
		h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		h.pageError(w, r, code, "Something went wrong", "The server could not complete this request. Please try again later.")
		return
	}
	h.pageError(w, r, code, http.StatusText(code), err.Error())
}
