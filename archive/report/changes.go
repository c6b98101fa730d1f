package report

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/evidence-dfir/evidence/archive/diff"
	"github.com/evidence-dfir/evidence/manifest"
)

// The section "Changes since the previous bundle": what diff.json (sealed
// by export in each daily bundle, docs/format.md) says appeared,
// disappeared or changed in the tenant's state, property by property, the
// changes that match a finding (alerts) first, and the files not compared
// with why.

// maxDiffFile bounds how much of diff.json is read.
const maxDiffFile = 16 << 20

// maxChangesShown bounds the changes listed on the page (alerts are always
// listed first); the rest are counted and left to diff.json.
const maxChangesShown = 500

// maxValueShown bounds one property value as the page shows it.
const maxValueShown = 400

func isDiff(rel string) bool { return rel == diff.File }

// feedDiff reads diff.json.
func (a *Analyzer) feedDiff(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, maxDiffFile+1))
	if err != nil {
		return fmt.Errorf("report: reading %s: %w", diff.File, err)
	}
	a.diffIn = true
	if len(b) > maxDiffFile {
		return nil
	}
	var res diff.Result
	if json.Unmarshal(b, &res) != nil || res.Format != diff.Format {
		return nil
	}
	a.diff = &res
	return nil
}

type changesView struct {
	Shown                             bool // the bundle is an export that compared, or tried to, or holds diff.json
	Unreadable                        bool // diff.json is there but cannot be read
	NotCompared, Previous, File, Href string
	Appeared, Disappeared, Changed    int
	Alerts                            int
	Items                             []changeView
	More                              int
	Skipped                           []skippedView
}

type changeView struct {
	Kind, KindLabel, File, Href, ID, Name string
	Line                                  int64
	Findings                              []string
	Props                                 []propView
}

type propView struct {
	Path, Old, New string
	HasOld, HasNew bool
}

type skippedView struct{ File, Why string }

// changes builds the section from the manifest's export summary and
// diff.json.
func changes(m *manifest.Manifest, a *Analyzer, cat *catalog, href func(string) string) changesView {
	var v changesView
	var sum *manifest.ExportChanges
	if m.Export != nil {
		sum = m.Export.Changes
	}
	if sum == nil && !a.diffIn {
		return v
	}
	v.Shown = true
	if sum != nil {
		v.Previous = sum.Previous
		if sum.NotCompared != "" {
			v.NotCompared = cat.text(sum.NotCompared, "")
		}
	}
	if a.diffIn && a.diff == nil {
		v.Unreadable = true
	}
	r := a.diff
	if r == nil {
		return v
	}
	v.File, v.Href = diff.File, href(diff.File)
	if v.Previous == "" {
		v.Previous = r.Old.Path
	}
	v.Appeared, v.Disappeared, v.Changed = r.Counts()
	ch := append([]diff.Change(nil), r.Changes...)
	sort.SliceStable(ch, func(i, j int) bool { return len(ch[i].Findings) > 0 && len(ch[j].Findings) == 0 })
	for _, c := range ch {
		if len(c.Findings) > 0 {
			v.Alerts++
		}
		if len(v.Items) >= maxChangesShown {
			v.More++
			continue
		}
		cv := changeView{Kind: c.Kind, KindLabel: cat.S("changes.kind." + c.Kind), File: c.File, Href: href(c.File), ID: c.ID, Name: c.Name}
		if !cat.has("changes.kind." + c.Kind) {
			cv.KindLabel = c.Kind
		}
		if c.New != nil {
			cv.Line = c.New.Line
		} else if c.Old != nil {
			cv.Line = c.Old.Line
		}
		for _, k := range c.Findings {
			if cat.has("finding." + k + ".title") {
				cv.Findings = append(cv.Findings, cat.S("finding."+k+".title"))
			} else {
				cv.Findings = append(cv.Findings, cat.S("finding.unknown", k))
			}
		}
		for _, p := range c.Properties {
			cv.Props = append(cv.Props, propView{Path: p.Path, Old: shortValue(p.Old), New: shortValue(p.New), HasOld: len(p.Old) > 0, HasNew: len(p.New) > 0})
		}
		v.Items = append(v.Items, cv)
	}
	for _, s := range r.Skipped {
		v.Skipped = append(v.Skipped, skippedView{File: s.File, Why: skipWhy(s.Why, cat)})
	}
	return v
}

// shortValue is a property value as JSON, cut to maxValueShown characters.
func shortValue(b json.RawMessage) string {
	s := string(b)
	if r := []rune(s); len(r) > maxValueShown {
		return string(r[:maxValueShown]) + "…"
	}
	return s
}

// The reasons archive/diff gives for a file it did not compare.
var (
	skipSideRe       = regexp.MustCompile(`^(OLD|NEW): (.*)$`)
	skipPartRe       = regexp.MustCompile(`^(\S+) not collected: (.*)$`)
	skipNoSourceRe   = regexp.MustCompile(`^source (\S+) not in the bundle$`)
	skipAbsentOldStr = "not in the OLD bundle (source not asked for, or the object did not exist)"
	skipAbsentNewStr = "not in the NEW bundle (source not asked for, or the object no longer exists)"
)

// skipWhy words a reason of diff.Skipped in the page's language; in
// English it is shown as diff.json holds it.
func skipWhy(why string, cat *catalog) string {
	if cat.lang == "en" {
		return why
	}
	switch why {
	case "in neither bundle":
		return cat.S("changes.skip.neither")
	case skipAbsentOldStr:
		return cat.S("changes.skip.absent", cat.S("changes.side.old"))
	case skipAbsentNewStr:
		return cat.S("changes.skip.absent", cat.S("changes.side.new"))
	}
	if m := skipSideRe.FindStringSubmatch(why); m != nil {
		side := cat.S("changes.side." + strings.ToLower(m[1]))
		if p := skipPartRe.FindStringSubmatch(m[2]); p != nil {
			return cat.S("changes.skip.part", side, p[1], cat.text(p[2], manifest.StatusFailed))
		}
		if p := skipNoSourceRe.FindStringSubmatch(m[2]); p != nil {
			return cat.S("changes.skip.nosource", side, p[1])
		}
		return side + ": " + cat.text(m[2], "")
	}
	return cat.text(why, "")
}
