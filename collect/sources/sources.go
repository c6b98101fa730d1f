// Package sources links every source into a program: its only job is to
// import each source package, whose init registers the source's
// descriptor in the collect registry (collect.Register). A new source is its
// own package under collect/ plus one import line here. The package also
// renders the registry as the table docs/sources.md shows.
package sources

import (
	"fmt"
	"strings"

	"github.com/evidence-dfir/evidence/collect"

	// The sources outside package collect (signins, audits and messagetrace
	// register from collect itself).
	_ "github.com/evidence-dfir/evidence/collect/diagarchive"
	_ "github.com/evidence-dfir/evidence/collect/signals"
	_ "github.com/evidence-dfir/evidence/collect/snapshot"
	_ "github.com/evidence-dfir/evidence/collect/tenant"
	_ "github.com/evidence-dfir/evidence/collect/ual"
	_ "github.com/evidence-dfir/evidence/collect/workspace"
)

// Markers around the generated part of docs/sources.md.
const (
	DocBegin = "<!-- BEGIN GENERATED from collect/sources: go test ./collect/sources -run TestSourcesDoc -update -->"
	DocEnd   = "<!-- END GENERATED -->"
)

// Markdown renders the registry as the table of docs/sources.md, in
// collection order.
func Markdown() string {
	var b strings.Builder
	code := func(list []string, prefix string) string {
		out := make([]string, len(list))
		for i, s := range list {
			out[i] = "`" + prefix + s + "`"
		}
		return strings.Join(out, ", ")
	}
	fmt.Fprintf(&b, "%s\n\n", DocBegin)
	b.WriteString("| `--sources` | collects | default | record files (each with its `.csv`) | catalogue entries | window | `--resume` of an unfinished source | flags |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, d := range collect.Sources() {
		var files []string
		for _, f := range d.Files {
			files = append(files, f.Pattern)
		}
		def := d.Default.String()
		if d.Default == collect.WhenFlag {
			def = "with `--" + d.Flags[0] + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n", d.Name, d.Summary, def,
			code(files, ""), code(d.Endpoints, ""), d.Split, d.Resume, code(d.Flags, "--"))
	}
	fmt.Fprintf(&b, "\n%s\n", DocEnd)
	return b.String()
}
