package mastodon

import (
	"fmt"
	"net/url"
	"testing"
)

func TestParseFocus(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want [2]float64
		ok   bool
	}{
		{"", [2]float64{}, true},
		{"0.5,-0.25", [2]float64{0.5, -0.25}, true},
		{" -1 , 1 ", [2]float64{-1, 1}, true},
		{"1.5,0", [2]float64{}, false},
		{"0.5", [2]float64{}, false},
		{"x,y", [2]float64{}, false},
		{"NaN,0", [2]float64{}, false},
	} {
		got, err := parseFocus(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseFocus(%q) = %v, %v; want %v ok=%t", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestMediaAttributes(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   url.Values
		want string // ID:description:focus per change
		ok   bool
	}{
		{"none", url.Values{"status": {"x"}}, "", true},
		{"JSON array, indexed", url.Values{
			"media_attributes[0][id]": {"7"}, "media_attributes[0][description]": {"cat"},
			"media_attributes[10][id]": {"9"}, "media_attributes[2][id]": {"8"}, "media_attributes[2][focus]": {"0.5,0.5"},
		}, "7:cat:-|8:-:[0.5 0.5]|9:-:-", true},
		{"form, in order", url.Values{
			"media_attributes[][id]": {"7", "8"}, "media_attributes[][description]": {"cat", "dog"},
		}, "7:cat:-|8:dog:-", true},
		{"bad id", url.Values{"media_attributes[0][id]": {"seven"}}, "", false},
		{"bad focus", url.Values{"media_attributes[0][id]": {"7"}, "media_attributes[0][focus]": {"2,2"}}, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			changes, err := mediaAttributes(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok=%t", err, tt.ok)
			}
			got := ""
			for i, c := range changes {
				if i > 0 {
					got += "|"
				}
				desc, focus := "-", "-"
				if c.Description != nil {
					desc = *c.Description
				}
				if c.Focus != nil {
					focus = fmt.Sprint(*c.Focus)
				}
				got += fmt.Sprintf("%s:%s:%s", c.ID, desc, focus)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
