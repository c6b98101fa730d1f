package graphtest

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// jw appends compact JSON to a byte slice. Commas are inserted
// automatically: a value or key written after anything but '{', '[' or ':'
// is preceded by a comma.
type jw struct{ b []byte }

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		switch w.b[n-1] {
		case '{', '[', ':':
		default:
			w.b = append(w.b, ',')
		}
	}
}

func (w *jw) key(k string) {
	w.sep()
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
}

// f writes key name if the selection allows it and reports whether the
// caller should write the value.
func (w *jw) f(sel fieldSet, name string) bool {
	if sel != nil && !sel[name] {
		return false
	}
	w.key(name)
	return true
}

func (w *jw) open()   { w.sep(); w.b = append(w.b, '{') }
func (w *jw) close()  { w.b = append(w.b, '}') }
func (w *jw) openA()  { w.sep(); w.b = append(w.b, '[') }
func (w *jw) closeA() { w.b = append(w.b, ']') }
func (w *jw) null()   { w.sep(); w.b = append(w.b, "null"...) }

func (w *jw) str(s string) { w.sep(); w.b = appendJSONString(w.b, s) }

// strN writes s, or null when s is empty.
func (w *jw) strN(s string) {
	if s == "" {
		w.null()
		return
	}
	w.str(s)
}

func (w *jw) boolean(v bool) { w.sep(); w.b = strconv.AppendBool(w.b, v) }
func (w *jw) int(v int64)    { w.sep(); w.b = strconv.AppendInt(w.b, v, 10) }
func (w *jw) float(v float64) {
	w.sep()
	w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
}

// strs writes a JSON array of strings.
func (w *jw) strs(v []string) {
	w.openA()
	for _, s := range v {
		w.str(s)
	}
	w.closeA()
}

// ts writes a Graph timestamp.
func (w *jw) ts(tick int64) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = appendTimestamp(w.b, tick)
	w.b = append(w.b, '"')
}

// appendTimestamp renders a tick as Graph does: 2026-11-20T08:15:32Z for
// whole seconds, else with up to seven fractional digits, trailing zeros
// trimmed, always UTC "Z".
func appendTimestamp(b []byte, tick int64) []byte {
	return fromTicks(tick).AppendFormat(b, "2006-01-02T15:04:05.9999999Z")
}

// FormatTime renders t the way the simulator (and Graph) renders
// createdDateTime and activityDateTime values.
func FormatTime(t time.Time) string {
	return string(appendTimestamp(nil, toTicks(t.UTC())))
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal. Non-ASCII text is
// written as raw UTF-8, as Graph does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
