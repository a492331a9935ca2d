package activitypub

import (
	"html"
	"regexp"
	"strings"
)

// Patterns of the plain text people post. A mention is @user or
// @user@host; a hashtag is # followed by letters, digits or underscores.
var (
	mentionPattern = regexp.MustCompile(`(^|[^\w/@])@([A-Za-z0-9_]+)(?:@([A-Za-z0-9.-]+\.[A-Za-z]{2,}|[A-Za-z0-9.-]+:[0-9]+|[A-Za-z0-9-]+\.test))?`)
	hashtagPattern = regexp.MustCompile(`(^|[^\w/&#])#([\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*)`)
	linkPattern    = regexp.MustCompile(`https?://[^\s<>"]+[^\s<>".,;:!?)\]'"]`)
)

// mentionRef is a mention found in text: its handle as written, and the
// account it resolved to.
type mentionRef struct {
	written  string // "@bob" or "@bob@b.test"
	username string
	host     string // "" for a local mention
}

// findMentions returns the mentions in text, each once.
func findMentions(text string) []mentionRef {
	var out []mentionRef
	seen := map[string]bool{}
	for _, m := range mentionPattern.FindAllStringSubmatch(text, -1) {
		ref := mentionRef{written: "@" + m[2], username: m[2], host: strings.ToLower(m[3])}
		if ref.host != "" {
			ref.written += "@" + m[3]
		}
		key := strings.ToLower(ref.username + "@" + ref.host)
		if !seen[key] {
			seen[key] = true
			out = append(out, ref)
		}
	}
	return out
}

// findHashtags returns the hashtags in text, lower case, each once.
func findHashtags(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range hashtagPattern.FindAllStringSubmatch(text, -1) {
		tag := strings.ToLower(m[2])
		if !seen[tag] {
			seen[tag] = true
			out = append(out, tag)
		}
	}
	return out
}

// renderText turns a local post's plain text into the HTML Mastodon
// shows: escaped text in paragraphs, line breaks, links, and mentions and
// hashtags as links. profiles maps a written mention (lower case, without
// "@") to the profile URL of the account it resolved to; unresolved
// mentions stay text.
func renderText(text string, profiles map[string]string, tagURL func(string) string) string {
	var b strings.Builder
	paragraphs := strings.Split(strings.ReplaceAll(strings.TrimSpace(text), "\r\n", "\n"), "\n\n")
	for _, p := range paragraphs {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		b.WriteString("<p>")
		for i, line := range strings.Split(p, "\n") {
			if i > 0 {
				b.WriteString("<br>")
			}
			b.WriteString(renderLine(line, profiles, tagURL))
		}
		b.WriteString("</p>")
	}
	return b.String()
}

// renderLine escapes one line and links its URLs, mentions and hashtags.
func renderLine(line string, profiles map[string]string, tagURL func(string) string) string {
	type span struct {
		start, end int
		html       string
	}
	var spans []span
	for _, loc := range linkPattern.FindAllStringIndex(line, -1) {
		u := line[loc[0]:loc[1]]
		spans = append(spans, span{loc[0], loc[1], `<a href="` + html.EscapeString(u) + `" rel="nofollow noopener" target="_blank">` + html.EscapeString(u) + `</a>`})
	}
	overlaps := func(s, e int) bool {
		for _, sp := range spans {
			if s < sp.end && e > sp.start {
				return true
			}
		}
		return false
	}
	for _, m := range mentionPattern.FindAllStringSubmatchIndex(line, -1) {
		start, end := m[4]-1, m[1] // from the "@" to the end of the handle
		written := line[start+1 : end]
		url, ok := profiles[strings.ToLower(written)]
		if !ok || overlaps(start, end) {
			continue
		}
		user := line[m[4]:m[5]]
		spans = append(spans, span{start, end, `<span class="h-card"><a href="` + html.EscapeString(url) +
			`" class="u-url mention">@<span>` + html.EscapeString(user) + `</span></a></span>`})
	}
	for _, m := range hashtagPattern.FindAllStringSubmatchIndex(line, -1) {
		start, end := m[4]-1, m[5]
		if overlaps(start, end) {
			continue
		}
		tag := line[m[4]:m[5]]
		spans = append(spans, span{start, end, `<a href="` + html.EscapeString(tagURL(strings.ToLower(tag))) +
			`" class="mention hashtag" rel="tag">#<span>` + html.EscapeString(tag) + `</span></a>`})
	}
	// Write text and spans in order.
	var b strings.Builder
	pos := 0
	for len(spans) > 0 {
		next := 0
		for i, sp := range spans {
			if sp.start < spans[next].start {
				next = i
			}
		}
		sp := spans[next]
		spans = append(spans[:next], spans[next+1:]...)
		b.WriteString(html.EscapeString(line[pos:sp.start]))
		b.WriteString(sp.html)
		pos = sp.end
	}
	b.WriteString(html.EscapeString(line[pos:]))
	return b.String()
}
