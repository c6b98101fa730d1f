package manifest

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestFormatDocIsComplete keeps docs/format.md, the normative description
// of the bundle format, true to the schema: every JSON field of
// manifest.json, custody.json and the custody log is named there (as
// `field`), and every table row belongs to a table with a header.
func TestFormatDocIsComplete(t *testing.T) {
	b, err := os.ReadFile("../docs/format.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	seen := map[reflect.Type]bool{}
	var walk func(ty reflect.Type, where string)
	walk = func(ty reflect.Type, where string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			if f.Anonymous {
				walk(f.Type, where)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(doc, "`"+name+"`") && !strings.Contains(doc, "`"+name+"[]`") {
				t.Errorf("docs/format.md does not name %s field `%s` (%s.%s)", where, name, ty.Name(), f.Name)
			}
			walk(f.Type, where)
		}
	}
	walk(reflect.TypeOf(Manifest{}), "manifest.json")
	walk(reflect.TypeOf(Custody{}), "custody.json")
	walk(reflect.TypeOf(CustodyEntry{}), "custody log")

	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "|") {
			continue
		}
		if i > 0 && strings.HasPrefix(lines[i-1], "|") {
			continue
		}
		// The first row of a table: a header, then the separator.
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "|---") {
			t.Errorf("docs/format.md line %d: a table row outside a table: %s", i+1, l)
		}
	}
	if n := strings.Count(doc, "### sources[].windows[]"); n != 1 {
		t.Errorf("docs/format.md defines sources[].windows[] %d times", n)
	}
}
