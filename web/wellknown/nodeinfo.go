package wellknown

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/rhizome-fed/rhizome/web/respond"
)

const nodeinfoSchema = "http://nodeinfo.diaspora.software/ns/schema/"

// nodeinfoLinks answers GET /.well-known/nodeinfo with the schema versions
// we serve.
func (h *handler) nodeinfoLinks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	links := map[string][]link{"links": {
		{Rel: nodeinfoSchema + "2.0", Href: h.in.BaseURL() + "/nodeinfo/2.0"},
		{Rel: nodeinfoSchema + "2.1", Href: h.in.BaseURL() + "/nodeinfo/2.1"},
	}}
	respond.Encoded(w, http.StatusOK, "application/json; charset=utf-8", links)
}

type nodeinfoSoftware struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Repository string `json:"repository,omitempty"` // 2.1 only
	Homepage   string `json:"homepage,omitempty"`   // 2.1 only
}

type nodeinfoUsers struct {
	Total          int64 `json:"total"`
	ActiveMonth    int64 `json:"activeMonth"`
	ActiveHalfyear int64 `json:"activeHalfyear"`
}

type nodeinfoDoc struct {
	Version           string           `json:"version"`
	Software          nodeinfoSoftware `json:"software"`
	Protocols         []string         `json:"protocols"`
	Services          map[string][]any `json:"services"`
	OpenRegistrations bool             `json:"openRegistrations"`
	Usage             struct {
		Users      nodeinfoUsers `json:"users"`
		LocalPosts int64         `json:"localPosts"`
	} `json:"usage"`
	Metadata map[string]any `json:"metadata"`
}

// nodeinfo answers GET /nodeinfo/2.0 and /nodeinfo/2.1.
func (h *handler) nodeinfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	version := mux.Vars(r)["version"]
	usage, err := h.in.Usage()
	if err != nil {
		respond.Error(w, r, h.log, err)
		return
	}
	doc := nodeinfoDoc{
		Version:   version,
		Software:  nodeinfoSoftware{Name: h.software.Name, Version: h.software.Version},
		Protocols: []string{"activitypub"},
		Services:  map[string][]any{"inbound": {}, "outbound": {}},
		Metadata:  map[string]any{"nodeName": h.in.Title()},
	}
	if version == "2.1" {
		doc.Software.Repository = h.software.Repository
		doc.Software.Homepage = h.software.Homepage
	}
	doc.Usage.Users = nodeinfoUsers{Total: usage.Users, ActiveMonth: usage.ActiveMonth, ActiveHalfyear: usage.ActiveHalfyear}
	doc.Usage.LocalPosts = usage.LocalPosts
	respond.Encoded(w, http.StatusOK, `application/json; profile="`+nodeinfoSchema+version+`#"`, doc)
}
