package streaming

import (
	"strings"
	"unicode/utf8"
)

// appendFrame appends the WebSocket text frame of m for a subscription
// whose frame prefix is prefix: {"stream":[…],"event":"…","payload":"…"}.
func appendFrame(dst, prefix []byte, m *Message) []byte {
	dst = append(dst, prefix...)
	dst = appendJSONString(dst, m.Event)
	if m.Payload != "" {
		dst = append(dst, `,"payload":`...)
		dst = append(dst, m.quotedPayload()...)
	}
	return append(dst, '}')
}

// appendEvent appends the Server-Sent-Events form of m: an event line, one
// data line per line of the payload, and the blank line that ends it.
func appendEvent(dst []byte, m *Message) []byte {
	dst = append(dst, "event: "...)
	dst = appendLine(dst, m.Event)
	p := m.Payload
	if p == "" {
		p = "undefined"
	}
	for {
		i := strings.IndexAny(p, "\r\n")
		if i < 0 {
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, p[:i]...)
		dst = append(dst, '\n')
		if p[i] == '\r' && i+1 < len(p) && p[i+1] == '\n' {
			i++
		}
		p = p[i+1:]
	}
	dst = append(dst, "data: "...)
	dst = append(dst, p...)
	return append(dst, '\n', '\n')
}

// appendLine appends s with any line break replaced by a space, then '\n'.
func appendLine(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, '\n')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal. Control characters,
// '"' and '\\' are escaped, as are U+2028 and U+2029; each byte of invalid
// UTF-8 becomes U+FFFD, as encoding/json does, so the result is always
// valid UTF-8 (a WebSocket text frame must be).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
