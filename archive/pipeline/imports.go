package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	// Report receives one line per file for a person; nil discards them.
	Report func(imp manifest.Import)
}

// Check checks the files before anything is written: each must be a
// regular file. Its errors are usage errors.
func (c Imports) Check() error {
	for _, f := range c.Files {
		st, err := os.Stat(f)
		if err != nil {
			return usageErr("%v", err)
		}
		if !st.Mode().IsRegular() {
			return usageErr("%s is not a regular file", f)
		}
	}
	return nil
}

// ImportOutputs are the deliverers of an import's --bundle: tar or dir.
func ImportOutputs(form string) ([]Deliverer, error) {
	switch form {
	case "tar":
		return []Deliverer{Tar{}}, nil
	case "dir":
		return []Deliverer{Dir{}}, nil
	}
	return nil, usageErr("--bundle %q: use tar or dir", form)
}

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
	if !first.IsZero() {
		m.Requested = manifest.NewWindow(first, last.Add(collect.Tick))
	}
	m.Complete = complete
	if !complete {
		m.Warnings = append(m.Warnings, "incomplete: at least one imported file could not be read for its records; its bytes are sealed as they were")
	}
	return nil
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
	safe := SafeName(base)
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
