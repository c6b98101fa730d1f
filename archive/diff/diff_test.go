package diff

import (
	"os"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/manifest"
)

func recs(lines ...string) []record {
	var out []record
	for i, l := range lines {
		out = append(out, record{line: int64(i + 1), raw: []byte(l), sum: l})
	}
	return out
}

func TestCompareFile(t *testing.T) {
	old := recs(
		`{"id":"a","displayName":"A","state":"enabled","conditions":{"users":{"exclude":[]},"apps":"All"},"signInActivity":{"last":"1"}}`,
		`{"id":"b","displayName":"B"}`,
		`{"id":"o","displayName":"owner"}`,
		`{"id":"o","displayName":"owner"}`,
	)
	cur := recs(
		`{"id":"a","displayName":"A","state":"disabled","conditions":{"users":{"exclude":["x"]},"apps":"All"},"signInActivity":{"last":"2"}}`,
		`{"id":"c","displayName":"C"}`,
		`{"id":"o","displayName":"owner"}`,
		`{"id":"v","signInActivity":{"last":"3"}}`,
	)
	// The same objects with only a volatile property changed are not a change.
	old = append(old, recs(`{"id":"v","signInActivity":{"last":"0"}}`)...)
	got := compareFile("f.jsonl", old, cur, map[string][]string{"f.jsonl\x00" + cur[1].sum: {"k"}}, false)
	if w := compareFile("f.jsonl", old, cur, nil, true); len(w) != 2 || w[0].Kind != Changed || w[1].Kind != Appeared {
		t.Errorf("a windowed file reports %+v, want only the changed and the appeared object", w)
	}
	var lines []string
	for _, c := range got {
		var ps []string
		for _, p := range c.Properties {
			ps = append(ps, p.Path+"="+string(p.Old)+">"+string(p.New))
		}
		lines = append(lines, c.Kind+" "+c.ID+" "+c.Name+" "+strings.Join(ps, " ")+" "+strings.Join(c.Findings, ","))
	}
	want := []string{
		`changed a A conditions.users.exclude=[]>["x"] state="enabled">"disabled" `,
		`appeared c C  k`,
		`disappeared b B  `,
		`disappeared o owner  `, // the second of two identical owner records
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestNotCollected(t *testing.T) {
	m := &manifest.Manifest{Sources: []manifest.Source{{Name: "snapshot", Windows: []manifest.SubWindow{
		{Scope: "u1", Status: manifest.StatusCollected, Query: "inbox-rules: GET /users/u1/mailFolders/inbox/messageRules"},
		{Scope: "u2", Status: "failed", Reason: "403 Forbidden", Query: "inbox-rules: GET /users/u2/mailFolders/inbox/messageRules"},
	}}}}
	if why := notCollected("snapshot/users/u1/inbox-rules.jsonl", m); why != "" {
		t.Errorf("u1: %q", why)
	}
	if why := notCollected("snapshot/users/u2/inbox-rules.jsonl", m); !strings.Contains(why, "403 Forbidden") {
		t.Errorf("u2: %q", why)
	}
	if why := notCollected("tenant/domains.jsonl", m); why != "source tenant not in the bundle" {
		t.Errorf("tenant: %q", why)
	}
}

// TestVolatileDocumented: docs/cli.md lists exactly the properties ignored.
func TestVolatileDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "| property | why it is ignored |")
	if i < 0 {
		t.Fatal("docs/cli.md has no table of ignored properties")
	}
	table := doc[i:]
	if j := strings.Index(table, "\n\n"); j > 0 {
		table = table[:j]
	}
	rows := 0
	for _, l := range strings.Split(table, "\n")[2:] {
		name, _, _ := strings.Cut(strings.TrimPrefix(l, "| `"), "`")
		if why, ok := Volatile[name]; !ok || !strings.Contains(l, why) {
			t.Errorf("docs/cli.md row %q is not in diff.Volatile", l)
		}
		rows++
	}
	if rows != len(Volatile) {
		t.Errorf("docs/cli.md lists %d ignored properties, diff.Volatile %d", rows, len(Volatile))
	}
}
