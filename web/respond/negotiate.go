package respond

import (
	"mime"
	"net/http"
	"strings"
)

// Representation is what a client asked for in Accept.
type Representation int

// The representations content negotiation chooses between.
const (
	// Unacceptable means the client accepts neither ActivityPub JSON nor HTML.
	Unacceptable Representation = iota
	ActivityJSON
	HTML
)

// Negotiate picks ActivityPub JSON or HTML for a resource that has both.
// application/activity+json and application/ld+json (with or without the
// ActivityStreams profile, which some servers omit) mean JSON; text/html,
// */* or no Accept header mean HTML. JSON wins ties, as peers often also
// list */*.
func Negotiate(r *http.Request) Representation {
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return HTML
	}
	html := false
	for _, header := range accept {
		for _, part := range strings.Split(header, ",") {
			mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok && strings.TrimLeft(q, "0.") == "" {
				continue // q=0 means "not this"
			}
			switch mediaType {
			case "application/activity+json", "application/ld+json":
				return ActivityJSON
			case "text/html", "application/xhtml+xml", "text/*", "*/*":
				html = true
			}
		}
	}
	if html {
		return HTML
	}
	return Unacceptable
}
