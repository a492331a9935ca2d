package activitypub

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestSanitizeHTML(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`<p>Hello <a href="https://b.test/@bob" class="u-url mention">@bob</a></p>`,
			`<p>Hello <a href="https://b.test/@bob" class="u-url mention" rel="nofollow noopener" target="_blank">@bob</a></p>`},
		{`<p>x<script>alert(1)</script></p>`, `<p>x</p>`},
		{`<a href="javascript:alert(1)">x</a>`, `x`},
		{`<p onclick="evil()" style="color:red">x</p>`, `<p>x</p>`},
		{`<img src="https://b.test/x.png" onerror="evil()">`, ``},
		{`<h1>Title</h1>`, `Title`},
		{`<span class="evil mention">x</span>`, `<span>x</span>`},
		{`<ol start="3" reversed><li value="5">x</li></ol>`, `<ol start="3" reversed=""><li value="5">x</li></ol>`},
		{`<iframe src="https://evil.test"></iframe>ok`, `ok`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := SanitizeHTML(tt.in); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// allowedAfterSanitizing lists each element the policy keeps and the
// attributes it may carry.
var allowedAfterSanitizing = map[string][]string{
	"p": nil, "br": nil, "span": {"class"}, "a": {"href", "class", "rel", "target"}, "del": nil, "s": nil,
	"pre": nil, "code": nil, "em": nil, "strong": nil, "b": nil, "i": nil, "u": nil, "ul": nil,
	"ol": {"start", "reversed"}, "li": {"value"}, "blockquote": nil,
}

// FuzzSanitizeHTML checks with a real HTML tokenizer that only allowed
// elements and attributes survive, that links keep to safe schemes, and
// that sanitising is idempotent.
func FuzzSanitizeHTML(f *testing.F) {
	for _, s := range []string{`<p>hi</p>`, `<a href="https://x">x</a>`, `<scr<script>ipt>alert(1)</script>`, `<svg onload=alert(1)>`, ` onload=x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SanitizeHTML(in)
		z := html.NewTokenizer(strings.NewReader(out))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			attrs, ok := allowedAfterSanitizing[tok.Data]
			if !ok {
				t.Fatalf("%q sanitised to %q, which keeps <%s>", in, out, tok.Data)
			}
			for _, a := range tok.Attr {
				if !slices.Contains(attrs, a.Key) {
					t.Fatalf("%q sanitised to %q, which keeps %s on <%s>", in, out, a.Key, tok.Data)
				}
				if a.Key == "href" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
					t.Fatalf("%q sanitised to %q, which keeps a javascript: link", in, out)
				}
			}
		}
		if again := SanitizeHTML(out); again != out {
			t.Fatalf("not idempotent: %q → %q", out, again)
		}
	})
}
