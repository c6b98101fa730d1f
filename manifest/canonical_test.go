package manifest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

type inner struct {
	Zeta  string `json:"zeta"`
	Alpha int    `json:"alpha"`
	Mid   []any  `json:"mid"`
}

type outer struct {
	Zulu  inner          `json:"zulu"`
	Bravo map[string]any `json:"bravo"`
	Alpha json.Number    `json:"alpha"`
	HTML  string         `json:"html"`
	Big   int64          `json:"big"`
	Float float64        `json:"float"`
	Nil   *inner         `json:"nil"`
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{
			name: "nested structs and maps sorted, no html escaping, exact numbers",
			in: outer{
				Zulu:  inner{Zeta: "z", Alpha: 1, Mid: []any{map[string]any{"b": 1, "a": 2}, "x"}},
				Bravo: map[string]any{"y": true, "X": nil, "é": "ü", "_": []int{3, 1}},
				Alpha: json.Number("123456789012345678901234567890"),
				HTML:  "<a href=\"x\">&</a>",
				Big:   9223372036854775807,
				Float: 0.1,
			},
			want: `{"alpha":123456789012345678901234567890,"big":9223372036854775807,` +
				`"bravo":{"X":null,"_":[3,1],"y":true,"é":"ü"},"float":0.1,` +
				`"html":"<a href=\"x\">&</a>","nil":null,` +
				`"zulu":{"alpha":1,"mid":[{"a":2,"b":1},"x"],"zeta":"z"}}`,
		},
		{
			name: "raw message is re-sorted and compacted",
			in:   json.RawMessage("{ \"b\" : 1e400 ,\n \"a\" : [ 1.50, -0 ] }"),
			want: `{"a":[1.50,-0],"b":1e400}`,
		},
		{
			name: "scalar",
			in:   "a<b",
			want: `"a<b"`,
		},
		{
			name: "line separators stay escaped",
			in:   map[string]string{"k": "a\u2028b\n"},
			want: `{"k":"a\u2028b\n"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonical(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Canonical =\n%s\nwant\n%s", got, tt.want)
			}
			again, err := Canonical(tt.in)
			if err != nil || !bytes.Equal(got, again) {
				t.Errorf("second call differs: %s", again)
			}
			// Canonical of canonical output is itself.
			fixed, err := Canonical(json.RawMessage(got))
			if err != nil || !bytes.Equal(fixed, got) {
				t.Errorf("not a fixed point: %s", fixed)
			}
		})
	}
}

func TestCanonicalManifestRoundTrip(t *testing.T) {
	recs := int64(3)
	m := Manifest{
		Format:  Format,
		CaseID:  "CASE-1 <x&y>",
		Tool:    Tool{Name: "evidence", Version: "1.0.0"},
		Tenant:  Tenant{GraphURL: "https://graph.microsoft.com"},
		Sources: []Source{{Name: "signins", Status: StatusCollected, Windows: []SubWindow{{Window: Window{Start: "a", End: "b"}, Status: StatusCollected}}}},
		Files:   []File{{Path: "data/a.jsonl", Size: 10, SHA256: "00", Records: &recs, MediaType: "application/x-ndjson"}},
	}
	b, err := Canonical(m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte{'\n'}) || bytes.Contains(b, []byte(`\u003c`)) {
		t.Errorf("not compact or html-escaped: %s", b)
	}
	var back Manifest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, back) {
		t.Errorf("round trip differs:\n%+v\n%+v", m, back)
	}
	// Keys sorted at the top level: "auth" < "case_id" < ... < "tool".
	var keys []string
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Errorf("keys not sorted: %q before %q", keys[i-1], keys[i])
		}
	}
}

func TestCanonicalError(t *testing.T) {
	if _, err := Canonical(map[string]any{"f": func() {}}); err == nil {
		t.Error("want an error for an unencodable value")
	}
}
