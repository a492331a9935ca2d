package wellknown

import (
	"encoding/xml"
	"log/slog"
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/activitypub"
	"github.com/rhizome-fed/rhizome/web/respond"
)

// Software describes the running build in NodeInfo.
type Software struct {
	Name       string // "rhizome"
	Version    string
	Repository string
	Homepage   string
}

type handler struct {
	in       *activitypub.Instance
	software Software
	log      *slog.Logger
}

// Mount adds the discovery routes to r.
func Mount(r *mux.Router, in *activitypub.Instance, software Software, log *slog.Logger) {
	h := &handler{in: in, software: software, log: log}
	r.HandleFunc("/.well-known/webfinger", h.webfinger).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/.well-known/host-meta", h.hostMetaXML).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/.well-known/host-meta.json", h.hostMetaJSON).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/.well-known/nodeinfo", h.nodeinfoLinks).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/nodeinfo/{version:2\\.[01]}", h.nodeinfo).Methods(http.MethodGet, http.MethodHead)
}

// link is one entry of a JRD or host-meta links list.
type link struct {
	Rel      string `json:"rel"`
	Type     string `json:"type,omitempty"`
	Href     string `json:"href,omitempty"`
	Template string `json:"template,omitempty"`
}

type jrd struct {
	Subject string   `json:"subject"`
	Aliases []string `json:"aliases,omitempty"`
	Links   []link   `json:"links"`
}

// webfinger answers GET /.well-known/webfinger?resource=...
func (h *handler) webfinger(w http.ResponseWriter, r *http.Request) {
	// Browsers' web clients read WebFinger across origins.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	resources := r.URL.Query()["resource"]
	if len(resources) > 1 {
		respond.Error(w, r, h.log, &respond.BadRequest{Reason: "resource parameter given more than once"})
		return
	}
	resource := ""
	if len(resources) == 1 {
		resource = resources[0]
	}
	a, err := h.in.LookupResource(resource)
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	doc := jrd{
		Subject: "acct:" + a.Username + "@" + h.in.Domain(),
		Aliases: []string{a.URI},
		Links: []link{
			{Rel: "self", Type: "application/activity+json", Href: a.URI},
		},
	}
	if a.URL != "" && a.URL != a.URI {
		doc.Aliases = append(doc.Aliases, a.URL)
		doc.Links = append(doc.Links, link{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: a.URL})
	}
	// RFC 7033 section 4.3: with rel parameters, return only those links.
	if rels := r.URL.Query()["rel"]; len(rels) > 0 {
		kept := doc.Links[:0]
		for _, l := range doc.Links {
			if slices.Contains(rels, l.Rel) {
				kept = append(kept, l)
			}
		}
		doc.Links = kept
	}
	respond.Encoded(w, http.StatusOK, "application/jrd+json; charset=utf-8", doc)
}

func (h *handler) webfingerTemplate() string {
	return h.in.BaseURL() + "/.well-known/webfinger?resource={uri}"
}

type xrdLink struct {
	Rel      string `xml:"rel,attr"`
	Type     string `xml:"type,attr,omitempty"`
	Template string `xml:"template,attr"`
}

type xrd struct {
	XMLName xml.Name  `xml:"http://docs.oasis-open.org/ns/xri/xrd-1.0 XRD"`
	Links   []xrdLink `xml:"Link"`
}

// hostMetaXML answers GET /.well-known/host-meta with the XRD document
// pointing at WebFinger, which older servers still look up first.
func (h *handler) hostMetaXML(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	body, err := xml.Marshal(xrd{Links: []xrdLink{{Rel: "lrdd", Type: "application/jrd+json", Template: h.webfingerTemplate()}}})
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	respond.Raw(w, http.StatusOK, "application/xrd+xml; charset=utf-8", append([]byte(xml.Header), body...))
}

// hostMetaJSON answers GET /.well-known/host-meta.json.
func (h *handler) hostMetaJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	respond.Encoded(w, http.StatusOK, "application/json; charset=utf-8", map[string][]link{
		"links": {{Rel: "lrdd", Type: "application/jrd+json", Template: h.webfingerTemplate()}},
	})
}
