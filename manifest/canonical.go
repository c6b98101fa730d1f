package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Canonical returns the JSON encoding of v in a reproducible form: object
// keys sorted in byte order at every level, no insignificant whitespace, no
// HTML escaping ('<', '>' and '&' stay literal), numbers written exactly as
// encoding/json first rendered them (they are never converted to float64),
// and no trailing newline. The same value always gives the same bytes.
//
// Strings are escaped as encoding/json escapes them, which includes U+2028
// and U+2029; invalid UTF-8 is replaced by U+FFFD.
func Canonical(v any) ([]byte, error) {
	// First pass: the ordinary encoding, which honours struct tags and
	// Marshalers but keeps struct fields in declaration order.
	var first bytes.Buffer
	enc := json.NewEncoder(&first)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("canonical json: encode: %w", err)
	}

	// Second pass: decode into generic maps (json.Number keeps numbers
	// verbatim) and encode again; encoding/json writes map keys sorted.
	dec := json.NewDecoder(&first)
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("canonical json: decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("canonical json: unexpected data after the value")
	}

	var out bytes.Buffer
	enc = json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
		return nil, fmt.Errorf("canonical json: re-encode: %w", err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte{'\n'}), nil
}
