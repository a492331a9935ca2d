package activitypub

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestRenderText(t *testing.T) {
	profiles := map[string]string{"bob@b.test": "https://b.test/@bob", "carol": "https://a.test/@carol"}
	tagURL := func(tag string) string { return "https://a.test/tags/" + tag }
	tests := []struct{ in, want string }{
		{"hello", "<p>hello</p>"},
		{"<b>x</b> & y", "<p>&lt;b&gt;x&lt;/b&gt; &amp; y</p>"},
		{"a\nb\n\nc", "<p>a<br>b</p><p>c</p>"},
		{"hi @bob@b.test!", `<p>hi <span class="h-card"><a href="https://b.test/@bob" class="u-url mention">@<span>bob</span></a></span>!</p>`},
		{"@carol look", `<p><span class="h-card"><a href="https://a.test/@carol" class="u-url mention">@<span>carol</span></a></span> look</p>`},
		{"@nobody stays", "<p>@nobody stays</p>"},
		{"mail bob@b.test", "<p>mail bob@b.test</p>"},
		{"#Go rocks", `<p><a href="https://a.test/tags/go" class="mention hashtag" rel="tag">#<span>Go</span></a> rocks</p>`},
		{"see https://x.test/a?b=1&c=2.", `<p>see <a href="https://x.test/a?b=1&amp;c=2" rel="nofollow noopener" target="_blank">https://x.test/a?b=1&amp;c=2</a>.</p>`},
		{"https://x.test/#frag", `<p><a href="https://x.test/#frag" rel="nofollow noopener" target="_blank">https://x.test/#frag</a></p>`},
		{"#123 is not a tag", "<p>#123 is not a tag</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := renderText(tt.in, profiles, tagURL); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestFindMentionsAndHashtags(t *testing.T) {
	text := "@bob@b.test and @carol, again @Bob@B.test; #Go #go #rhizome email x@y.test"
	if got := fmt.Sprint(findMentions(text)); got != "[{@bob@b.test bob b.test} {@carol carol }]" {
		t.Errorf("mentions %s", got)
	}
	if got := fmt.Sprint(findHashtags(text)); got != "[go rhizome]" {
		t.Errorf("hashtags %s", got)
	}
}

func FuzzRenderText(f *testing.F) {
	f.Add("hi @bob@b.test #tag https://x.test <script>")
	f.Fuzz(func(t *testing.T, in string) {
		out := renderText(in, map[string]string{"bob@b.test": "https://b.test/@bob"}, func(s string) string { return "/tags/" + s })
		allowed := map[string][]string{"p": nil, "br": nil, "span": {"class"}, "a": {"href", "class", "rel", "target"}}
		z := html.NewTokenizer(strings.NewReader(out))
		for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			attrs, ok := allowed[tok.Data]
			if !ok {
				t.Fatalf("%q rendered with <%s>: %q", in, tok.Data, out)
			}
			for _, a := range tok.Attr {
				if !slices.Contains(attrs, a.Key) {
					t.Fatalf("%q rendered with %s on <%s>: %q", in, a.Key, tok.Data, out)
				}
			}
		}
	})
}
