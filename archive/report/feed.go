package report

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// FeedDir streams every file of the bundle directory dir that the analyzer
// reads (Wants), in path order. seen, when not nil, receives every regular
// file's bundle-relative path.
func FeedDir(an *Analyzer, dir string, seen func(rel string)) error {
	var rels []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rels = append(rels, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(rels)
	// Findings first: the records they point at are captured as they pass.
	sort.SliceStable(rels, func(i, j int) bool { return isFindings(rels[i]) && !isFindings(rels[j]) })
	for _, rel := range rels {
		if seen != nil {
			seen(rel)
		}
		if !an.WantsFile(rel) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		err = an.Feed(rel, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
