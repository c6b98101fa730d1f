package manifest

import (
	"fmt"
	"strings"
)

// sealFile names the files whose bytes a Verifier keeps for CheckSeal.
var sealFile = map[string]bool{
	SumsName:       true,
	SigName:        true,
	TimestampName:  true,
	CustodyName:    true,
	CustodyLogName: true,
}

// checkSources checks the manifest's accounting against itself and against
// the record files: per source, pages are the sum over its windows, records
// are the windows' records less the duplicates dropped and the records out
// of scope (kept in files of their own), and records equal the
// lines of the .jsonl files attributed to the source (files[].source). A
// .jsonl line removed (and the file re-hashed) with the counts left as they
// were is thus named even where files[].records was also edited.
func (v *Verifier) checkSources(m *Manifest, listed map[string]string, ps problemSet) {
	fileSource := map[string]string{}
	for _, f := range m.Files {
		fileSource[f.Path] = f.Source
	}
	for i, imp := range m.Imports {
		if imp.InScope == nil {
			continue
		}
		if imp.Records == nil || *imp.InScope+imp.OutOfScope != *imp.Records {
			recs := "unknown"
			if imp.Records != nil {
				recs = fmt.Sprint(*imp.Records)
			}
			ps.add(ManifestName, ProblemInconsistent, fmt.Sprintf("imports[%d] %s: %d records in scope and %d outside, the file holds %s",
				i, imp.Path, *imp.InScope, imp.OutOfScope, recs))
		}
		if imp.OutOfScope > 0 && (fileSource[imp.SubjectPath] == "" || fileSource[imp.OutOfScopePath] == "") {
			ps.add(ManifestName, ProblemInconsistent, fmt.Sprintf("imports[%d] %s: %d records outside the scope, but the split files %q and %q are not in files[]",
				i, imp.Path, imp.OutOfScope, imp.SubjectPath, imp.OutOfScopePath))
		}
	}
	for i, s := range m.Sources {
		var recs, pages int64
		for _, w := range s.Windows {
			recs += w.Records
			pages += w.Pages
		}
		if len(s.Windows) > 0 && (recs-s.Duplicates-s.OutOfScope != s.Records || pages != s.Pages) {
			ps.add(ManifestName, ProblemInconsistent, fmt.Sprintf("sources[%d] %s: %d records (%d duplicates dropped, %d out of scope kept apart) in %d pages, its windows add up to %d records in %d pages",
				i, s.Name, s.Records, s.Duplicates, s.OutOfScope, s.Pages, recs, pages))
		}
		var lines int64
		var jsonl []string
		checked := true
		for _, p := range s.Files {
			if !strings.HasSuffix(p, ".jsonl") || fileSource[p] != s.Name {
				continue
			}
			jsonl = append(jsonl, p)
			f, ok := v.files[p]
			if !ok || f.sha256 != listed[p] {
				checked = false // missing or changed: reported already
				continue
			}
			lines += f.lines
		}
		if checked && len(jsonl) > 0 && lines != s.Records {
			ps.add(jsonl[0], ProblemInconsistent, fmt.Sprintf("source %s: the manifest counts %d records, %s hold %d lines",
				s.Name, s.Records, strings.Join(jsonl, ", "), lines))
		}
	}
}
