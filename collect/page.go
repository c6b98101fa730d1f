package collect

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/tidwall/gjson"
)

// parsePageFast is ParsePage in two passes over the body instead of four:
// gjson validates the whole body and walks it, and each record is sliced
// out of the body as sent and passed through compact, which elides
// insignificant whitespace exactly as json.Compact does (and copies nothing
// when there is none). Records must be objects; the body must be one JSON
// object with a value array.
func parsePageFast(body []byte) (*Page, error) {
	if !gjson.ValidBytes(body) {
		// Let encoding/json say precisely what is wrong.
		return parsePageStd(body)
	}
	root := record.View(body) // records are sliced from body itself (sliceOf); nothing else outlives the call
	if !root.IsObject() {
		return nil, errors.New("page: not a JSON object")
	}
	p := &Page{}
	sawValue := false
	var ferr error
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.String() {
		case "value":
			sawValue = true
			if !v.IsArray() {
				ferr = errors.New("page: value is not an array")
				return false
			}
			v.ForEach(func(_, r gjson.Result) bool {
				raw := sliceOf(body, r)
				if len(raw) == 0 || raw[0] != '{' {
					ferr = fmt.Errorf("page record %d: not an object", len(p.Records)+1)
					return false
				}
				p.Records = append(p.Records, compact(raw))
				return true
			})
			return ferr == nil
		case "@odata.nextLink":
			if v.Type != gjson.String {
				ferr = errors.New("page nextLink: not a string")
				return false
			}
			p.NextLink = strings.Clone(v.String()) // outlives body's view
		}
		return true
	})
	if ferr != nil {
		return nil, ferr
	}
	if !sawValue {
		return nil, errors.New("page: no value array")
	}
	return p, nil
}

// sliceOf returns r's bytes inside body (gjson's Raw is a copy as string).
func sliceOf(body []byte, r gjson.Result) []byte {
	if r.Index > 0 && r.Index+len(r.Raw) <= len(body) {
		return body[r.Index : r.Index+len(r.Raw) : r.Index+len(r.Raw)]
	}
	return []byte(r.Raw)
}

// firstSpace returns where the first whitespace outside strings is in
// valid JSON, -1 when there is none. Strings, most of a record's bytes, are
// skipped from quote to quote (bytes.IndexByte), a quote preceded by an odd
// number of backslashes being inside the string.
func firstSpace(raw []byte) int {
	for i := 0; i < len(raw); {
		switch raw[i] {
		case '"':
			j := i + 1
			for {
				k := bytes.IndexByte(raw[j:], '"')
				if k < 0 {
					return -1 // unterminated: not JSON, left as it is
				}
				j += k
				n := 0
				for p := j - 1; p > i && raw[p] == '\\'; p-- {
					n++
				}
				if n%2 == 0 {
					break
				}
				j++
			}
			i = j + 1
		case ' ', '\t', '\n', '\r':
			return i
		default:
			i++
		}
	}
	return -1
}

// compact removes whitespace outside strings from valid JSON, as
// json.Compact does; it returns raw itself when there is none.
func compact(raw []byte) []byte {
	first := firstSpace(raw)
	if first < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	out = append(out, raw[:first]...)
	in, esc := false, false
	for _, c := range raw[first:] {
		if in {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				in = false
			}
			out = append(out, c)
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			in = true
		}
		out = append(out, c)
	}
	return out
}
