package activitypub

import (
	"regexp"
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

// remoteHTMLPolicy keeps what Mastodon keeps of remote HTML: paragraphs,
// line breaks, links, emphasis, code, lists and quotes, and the classes
// used for mentions, hashtags, link shortening and microformats. Anything
// else (scripts, styles, images, event handlers) is removed.
var remoteHTMLPolicy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "span", "a", "del", "s", "pre", "code", "em", "strong", "b", "i", "u",
		"ul", "ol", "li", "blockquote")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini")
	p.RequireParseableURLs(true)
	p.AllowAttrs("class").Matching(regexp.MustCompile(
		`^((h|p|u|dt|e)-[a-z0-9-]+|mention|hashtag|ellipsis|invisible|quote-inline)( ((h|p|u|dt|e)-[a-z0-9-]+|mention|hashtag|ellipsis|invisible|quote-inline))*$`,
	)).OnElements("a", "span")
	p.AllowAttrs("start", "reversed").OnElements("ol")
	p.AllowAttrs("value").OnElements("li")
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
})

// SanitizeHTML cleans HTML that came from another server.
func SanitizeHTML(html string) string {
	return remoteHTMLPolicy().Sanitize(html)
}
