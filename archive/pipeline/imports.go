package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/portal"
	"github.com/evidence-dfir/evidence/manifest"
)

// Imports is the collector of files a person downloaded by hand (the Entra
// admin center's sign-in and audit logs): each file's bytes are copied
// unchanged under imported/, hashed as read, and summarised (kind, records,
// time range) from the copy in the bundle. The bundle is then sealed like
// any other: signature, time-stamp, custody and report.
type Imports struct {
	Files []string
	// Scope is what was asked of the files (import --user, --since,
	// --until); the zero Scope takes them as downloaded. Records outside it
	// are counted and split apart (see manifest.Import) and make the bundle
	// incomplete.
	Scope portal.Scope
	// Report receives one line per file for a person; nil discards them.
	Report func(imp manifest.Import)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Collect implements Collector.
func (c Imports) Collect(_ context.Context, s *Session) error {
	m := s.Manifest
	if m.Sources == nil {
		m.Sources = []manifest.Source{}
	}
	used := map[string]bool{}
	var first, last time.Time
	complete := true
	for _, f := range c.Files {
		imp, err := importFile(s.Stage, f, used)
		if err != nil {
			return err
		}
		imp.ImportedBy = m.Examiner + " (OS user " + m.OSUser + " on " + m.Host + ")"
		imp.ImportedAt = m.CollectionStart
		sum, perr := summarise(s.Stage, imp.Path, imp.OriginalName)
		if perr != nil {
			complete = false
			imp.Kind = portal.KindUnknown
			imp.Warnings = append(imp.Warnings, "records could not be read: "+perr.Error())
		} else {
			imp.Kind, imp.Format, imp.TimeColumn, imp.Warnings = sum.Kind, sum.Format, sum.TimeCol, sum.Warnings
			n := sum.Records
			imp.Records = &n
			ok, err := c.scope(s.Stage, &imp, sum, used)
			if err != nil {
				return err
			}
			if !ok {
				complete = false
			}
			if !sum.First.IsZero() {
				imp.First, imp.Last = manifest.FormatTime(sum.First), manifest.FormatTime(sum.Last)
				if first.IsZero() || sum.First.Before(first) {
					first = sum.First
				}
				if sum.Last.After(last) {
					last = sum.Last
				}
			}
		}
		for _, w := range imp.Warnings {
			m.Warnings = append(m.Warnings, imp.OriginalName+": "+w)
			s.Log.Warn("import", "file", imp.OriginalName, "warning", w)
		}
		if c.Report != nil {
			c.Report(imp)
		}
		m.Imports = append(m.Imports, imp)
	}
	switch {
	case c.Scope.Window != (collect.Window{}):
		m.Requested = manifest.NewWindow(c.Scope.Window.Start, c.Scope.Window.End)
	case !first.IsZero():
		m.Requested = manifest.NewWindow(first, last.Add(collect.Tick))
	}
	m.Complete = complete
	if !complete {
		m.Warnings = append(m.Warnings, "incomplete: at least one imported file could not be read for its records or holds records outside the asked user/window; its bytes are sealed as they were (see imports[])")
	}
	return nil
}

// scope checks one file's records against the asked scope. When some lie
// outside, it writes the file's records, byte for byte, into two files
// beside the original: <name>.in-scope.<ext> and <name>.out-of-scope.<ext>.
// ok is false when records lie outside or could not be judged.
func (c Imports) scope(stage *bundle.Stage, imp *manifest.Import, sum *portal.Summary, used map[string]bool) (ok bool, err error) {
	imp.Scope = c.Scope.String()
	if c.Scope.AsDownloaded() {
		return true, nil
	}
	orig := filepath.Join(stage.Dir(), filepath.FromSlash(imp.Path))
	split := func(in, out io.Writer) (*portal.Split, error) {
		f, err := os.Open(orig)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return portal.SplitRecords(f, sum, c.Scope, in, out)
	}
	sp, err := split(nil, nil)
	if err != nil {
		imp.ScopeNote = "not checked: " + err.Error()
		imp.Warnings = append(imp.Warnings, "the asked user/window could not be checked: "+err.Error())
		return false, nil
	}
	imp.InScope, imp.OutOfScope, imp.ScopeNote = &sp.InScope, sp.OutOfScope, sp.Note
	if sp.OutOfScope == 0 {
		return true, nil
	}
	ext := path.Ext(imp.Path)
	stem := strings.TrimSuffix(imp.Path, ext)
	imp.SubjectPath, imp.OutOfScopePath = freeName(stem+".in-scope", ext, used), freeName(stem+".out-of-scope", ext, used)
	media := bundle.MediaCSV
	if sum.Format == "json" {
		media = bundle.MediaJSON
	}
	in, err := stage.Create(imp.SubjectPath, "import", media)
	if err != nil {
		return false, err
	}
	out, err := stage.Create(imp.OutOfScopePath, "import", media)
	if err != nil {
		return false, err
	}
	again, err := split(in, out)
	if err != nil {
		return false, fmt.Errorf("splitting %s: %w", imp.OriginalName, err)
	}
	if again.InScope != sp.InScope || again.OutOfScope != sp.OutOfScope {
		return false, fmt.Errorf("splitting %s: %d/%d records in/out of scope, then %d/%d", imp.OriginalName, sp.InScope, sp.OutOfScope, again.InScope, again.OutOfScope)
	}
	imp.Warnings = append(imp.Warnings, fmt.Sprintf("%d of %d records lie outside the asked %s (first: %s): kept apart in %s; the subject's %d records are in %s; the original is unchanged",
		sp.OutOfScope, sp.InScope+sp.OutOfScope, c.Scope, sp.First, imp.OutOfScopePath, sp.InScope, imp.SubjectPath))
	return false, nil
}

// freeName returns stem+ext, or stem-2+ext, ..., not yet used in the bundle.
func freeName(stem, ext string, used map[string]bool) string {
	rel := stem + ext
	for i := 2; used[rel]; i++ {
		rel = fmt.Sprintf("%s-%d%s", stem, i, ext)
	}
	used[rel] = true
	return rel
}

// importFile copies one file into the bundle byte for byte, hashing what
// it reads.
func importFile(stage *bundle.Stage, src string, used map[string]bool) (manifest.Import, error) {
	f, err := os.Open(src)
	if err != nil {
		return manifest.Import{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return manifest.Import{}, err
	}
	base := filepath.Base(src)
	safe := strings.Trim(unsafeName.ReplaceAllString(base, "_"), ".")
	if safe == "" {
		safe = "file"
	}
	rel := "imported/" + safe
	for i := 2; used[rel]; i++ {
		rel = fmt.Sprintf("imported/%d-%s", i, safe)
	}
	used[rel] = true
	media := "application/octet-stream"
	switch strings.ToLower(filepath.Ext(base)) {
	case ".csv":
		media = bundle.MediaCSV
	case ".json":
		media = bundle.MediaJSON
	}
	w, err := stage.Create(rel, "import", media)
	if err != nil {
		return manifest.Import{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), f)
	if err != nil {
		return manifest.Import{}, fmt.Errorf("importing %s: %w", src, err)
	}
	abs, _ := filepath.Abs(src)
	return manifest.Import{
		Path: rel, OriginalName: base, OriginalPath: abs, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)),
		Modified: manifest.FormatTime(st.ModTime().UTC().Truncate(time.Second)),
	}, nil
}

// summarise reads the copy in the bundle, so the summary is of the sealed
// bytes.
func summarise(stage *bundle.Stage, rel, name string) (*portal.Summary, error) {
	if err := stage.Flush(rel); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(stage.Dir(), filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return portal.Read(f, name)
}

// ImportReadme writes README.txt of an import bundle (Plan.Readme).
func ImportReadme(stage *bundle.Stage, m *manifest.Manifest) error {
	return writeImportReadme(stage, m)
}
