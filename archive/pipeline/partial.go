package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/archive/report"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/durable"
)

// Partial, not lost: when a fatal error stops a grab's collection (Ctrl-C,
// SIGINT or SIGTERM, a token refused with 401, a full disk), the sources
// stop at a page boundary and Build seals what was collected anyway, as a
// bundle named NAME-partial-STAMP: manifest.partial says why and which
// sources are unfinished, every window not read is recorded with the
// reason, and the exit code is 3. The resume directory (Plan.ResumeDir)
// names that bundle in partial.json; `evidence grab --resume` then copies
// every finished source from it, byte for byte after verifying it, and
// collects the unfinished ones again (the unified audit log re-using its own
// saved queries), so the resumed bundle holds the records of an
// uninterrupted run.

// ResumePartial is the file of the resume directory that names the last
// partial bundle sealed for the run.
const ResumePartial = "partial.json"

// StepCommittedPartial is reported instead of StepCommitted when the bundle
// committed is a partial one (its resume state stays).
const StepCommittedPartial = "committed-partial"

// partialRef is partial.json.
type partialRef struct {
	Bundle string `json:"bundle"` // the partial bundle's name, in Plan.Out
}

// stopped is the error of a source that stopped the collection, with what
// it had collected and the sources it left.
type stopped struct {
	err  error
	got  manifest.Source
	src  collect.Source
	rest []collect.Source
}

func (s *stopped) Error() string { return s.err.Error() }
func (s *stopped) Unwrap() error { return s.err }

// PartialName is the name of the partial bundle sealed at stop for the
// bundle name.
func PartialName(name string, stop string) string { return name + "-partial-" + stop }

// record puts in m what the stopped collection leaves: the running
// source's accounting with a gap over its window, an entry for every
// source not started, manifest.partial and a warning.
func (s *stopped) record(m *manifest.Manifest, w collect.Window, resume string) {
	kind, reason := collect.StopReason(s.err)
	detail := oneLine(collect.RedactText(s.err.Error()))
	got := s.got
	if got.Name == "" {
		got.Name = s.src.Name()
	}
	got.Missing = append(got.Missing, manifest.Gap{Window: manifest.NewWindow(w.Start, w.End), Status: manifest.StatusFailed,
		Reason: kind + ": this source stopped before it finished (" + detail + "); only its windows marked collected are complete; `" + resume + "` collects it again"})
	got.Summarize()
	m.Sources = append(m.Sources, got)
	unfinished := []string{got.Name}
	for _, r := range s.rest {
		src := manifest.Source{Name: r.Name(), Windows: []manifest.SubWindow{{Window: manifest.NewWindow(w.Start, w.End),
			Status: manifest.StatusFailed, Reason: strings.Replace(reason, "before this window was", "before this source was", 1)}}}
		src.Summarize()
		m.Sources = append(m.Sources, src)
		unfinished = append(unfinished, src.Name)
	}
	m.Partial = &manifest.Partial{Reason: kind, Detail: detail, Unfinished: unfinished, Resume: resume}
	m.Warnings = append(m.Warnings, "partial: "+kind+" ("+detail+"); sealed what was collected; unfinished: "+strings.Join(unfinished, ", ")+"; `"+resume+"` completes it")
}

// makeRoom is what a collection stopped by a full disk (err) gives up so
// that the records it collected can be sealed: the CSV views, which
// `evidence grab --resume` writes again from the records. Each is named in
// m.Partial.Omitted with the reason. The record files keep their bytes:
// what they took before the disk filled is written out at the seal, in the
// room the views leave.
func makeRoom(stage *bundle.Stage, m *manifest.Manifest, err error, log *slog.Logger) error {
	if kind, _ := collect.StopReason(err); kind != collect.StopDiskFull {
		return nil
	}
	dropped, derr := omitViews(stage, m)
	if derr != nil {
		return fmt.Errorf("making room for the partial bundle: %w", derr)
	}
	// the page the full disk cut short: the source counted none of it, and
	// its window is marked not collected
	for _, src := range m.Sources {
		if src.Name != m.Partial.Unfinished[0] {
			continue
		}
		cut, err := stage.TrimSource(src.Name, src.Files, src.Records)
		if err != nil {
			return fmt.Errorf("making room for the partial bundle: %w", err)
		}
		if cut > 0 {
			m.Warnings = append(m.Warnings, fmt.Sprintf("partial: disk full: %s: the %d records written of the page the full disk cut short are not kept (the source counted none of them; its window is marked not collected)", src.Name, cut))
		}
	}
	if len(dropped) > 0 {
		log.Warn("disk full: the CSV views are left out of the partial bundle to make room for its records", "views", len(dropped))
		m.Warnings = append(m.Warnings, fmt.Sprintf("partial: disk full: the %d CSV views are left out to make room for the records (partial.omitted); `%s` writes them again", len(dropped), m.Partial.Resume))
	}
	return nil
}

// omitViews drops the partial bundle's CSV views, which `evidence grab
// --resume` writes again from the records, naming each in m.Partial.Omitted
// as left out for a full disk.
func omitViews(stage *bundle.Stage, m *manifest.Manifest) ([]string, error) {
	dropped, err := stage.DropMedia(bundle.MediaCSV)
	for _, p := range dropped {
		m.Partial.Omitted = append(m.Partial.Omitted, manifest.Omitted{Path: p, Reason: collect.StopDiskFull})
	}
	return dropped, err
}

// roomAtSeal makes the bundle whose seal a full disk (err) stopped into a
// partial bundle that takes less room: every record file stays, byte for
// byte; the CSV views and report.html, which `evidence grab --resume`
// writes again from the records, are left out and named in
// partial.omitted, and README.txt is written again for the partial
// bundle.
func roomAtSeal(stage *bundle.Stage, m *manifest.Manifest, p *Plan, err error, log *slog.Logger) error {
	detail := oneLine(collect.RedactText(err.Error()))
	if m.Partial == nil {
		if err := stage.Rename(PartialName(p.Name, bundle.Stamp(p.now()))); err != nil {
			return err
		}
		m.Partial = &manifest.Partial{Reason: collect.StopDiskFull, Detail: detail, Resume: p.ResumeCommand}
		m.Warnings = append(m.Warnings, "partial: "+collect.StopDiskFull+" while sealing ("+detail+"); every record collected is kept; `"+p.ResumeCommand+"` completes it")
	}
	m.Complete = false
	fmt.Fprintln(p.stderr(), "evidence: "+collect.StopDiskFull+" while sealing ("+detail+"): sealing the records as a partial bundle without the files made from them")
	dropped, derr := omitViews(stage, m)
	if stage.Has(report.FileName) {
		if rerr := stage.Remove(report.FileName); rerr != nil {
			derr = errors.Join(derr, rerr)
		} else {
			dropped = append(dropped, report.FileName)
			m.Partial.Omitted = append(m.Partial.Omitted, manifest.Omitted{Path: report.FileName, Reason: collect.StopDiskFull})
		}
	}
	if stage.Has(manifest.ReadmeName) {
		derr = errors.Join(derr, stage.Remove(manifest.ReadmeName))
	}
	if len(dropped) > 0 {
		log.Warn("disk full while sealing: the CSV views and the report are left out of the partial bundle", "files", len(dropped))
		m.Warnings = append(m.Warnings, fmt.Sprintf("partial: disk full while sealing: %d files made from the records are left out to make room (partial.omitted); `%s` writes them again", len(dropped), p.ResumeCommand))
	}
	if derr != nil {
		return fmt.Errorf("making room for the partial bundle: %w", derr)
	}
	return nil
}

// stopLine is the one line said when err stopped a run signed in with
// method: with --auth token, a 401 is named for what it is.
func stopLine(method string, err error) string {
	var ge *collect.GraphError
	if errors.As(err, &ge) && ge.Status == 401 && method == "token" {
		if p := collect.Explain(err); p != nil && p.Kind == collect.ProblemTokenExpired {
			return p.Error() // the same line as a token refused before collecting
		}
		return "Graph refused the credentials: the bearer token in " + collect.EnvGraphToken + " is not accepted (" + ge.Error() + "); check its audience, tenant and expiry, or export a new token"
	}
	if kind, _ := collect.StopReason(err); kind == collect.StopInterrupted {
		return kind
	}
	return GraphFail(err).Error()
}

// tokenFail is GraphFail for a run that sealed nothing, with --auth
// token's 401 and an interruption said precisely.
func tokenFail(method string, err error, connecting bool) error {
	var ge *collect.GraphError
	switch {
	case errors.As(err, &ge) && ge.Status == 401 && method == "token":
		return failErr(errors.New(stopLine(method, err)))
	case connecting && errors.Is(err, context.Canceled):
		return failErr(errors.New("interrupted (Ctrl-C, SIGINT or SIGTERM) before any source was collected: nothing was sealed"))
	}
	return GraphFail(err)
}

// PartialLine is the one line a person reads about a partial bundle.
func PartialLine(p *manifest.Partial) string {
	left := ""
	if len(p.Omitted) > 0 {
		left = fmt.Sprintf("; %d files made from the records left out (%s; partial.omitted in manifest.json)", len(p.Omitted), p.Omitted[0].Reason)
	}
	unfinished := strings.Join(p.Unfinished, ", ")
	if unfinished == "" {
		unfinished = "none (every record was collected)"
	}
	return fmt.Sprintf("PARTIAL (%s): %s; unfinished: %s%s; complete it with `%s`", p.Reason, p.Detail, unfinished, left, p.Resume)
}

// notePartial records in the resume directory the partial bundle just
// committed, for the next --resume.
func notePartial(resumeDir, name string) error {
	b, err := json.Marshal(partialRef{Bundle: name})
	if err != nil {
		return err
	}
	return durable.WriteBytes(filepath.Join(resumeDir, ResumePartial), 0o600, durable.Replace, b)
}

// carry is what a resumed run takes from the last partial bundle: the
// finished sources' accounting, their files already copied into the stage.
type carry struct {
	from    string // the partial bundle (directory or archive)
	content string // the SHA-256 of its SHA256SUMS
	sources map[string]manifest.Source
	views   []string // CSV views written again from their carried records
}

// has reports whether name is carried.
func (c *carry) has(name string) bool {
	if c == nil {
		return false
	}
	_, ok := c.sources[name]
	return ok
}

// loadCarry reads partial.json in the resume directory, verifies the
// partial bundle it names (the directory, or NAME.tar.zst beside it), and
// copies the files of every source it finished into the stage, only for
// the sources the plan asks for. nil when there is no partial bundle.
func loadCarry(out, resumeDir string, stage *bundle.Stage, want []collect.Source) (*carry, error) {
	b, err := os.ReadFile(filepath.Join(resumeDir, ResumePartial))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	var ref partialRef
	if err := json.Unmarshal(b, &ref); err != nil || ref.Bundle == "" || strings.ContainsAny(ref.Bundle, `/\`) {
		return nil, fmt.Errorf("resume: %s does not name a partial bundle", filepath.Join(resumeDir, ResumePartial))
	}
	c := &carry{from: filepath.Join(out, ref.Bundle), sources: map[string]manifest.Source{}}
	var res *manifest.Result
	archived := false
	if _, err := os.Stat(filepath.Join(c.from, manifest.SumsName)); err == nil {
		res, err = manifest.VerifyDir(c.from)
		if err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	} else {
		c.from += manifest.ArchiveSuffix
		archived = true
		if _, err := os.Stat(c.from); errors.Is(err, os.ErrNotExist) {
			return nil, nil // moved away: every source is collected again
		}
		if res, _, err = readBackArchive(c.from); err != nil {
			return nil, fmt.Errorf("resume: the partial bundle: %w", err)
		}
	}
	if !res.OK() || res.Manifest == nil {
		return nil, fmt.Errorf("resume: the partial bundle %s does not verify: %s", c.from, DescribeProblems(res))
	}
	c.content = contentOf(res)
	pm := res.Manifest
	var unfinished []string
	omitted := map[string]bool{}
	if pm.Partial != nil {
		unfinished = pm.Partial.Unfinished
		for _, o := range pm.Partial.Omitted {
			omitted[o.Path] = true
		}
	}
	// A source whose CSV views were left out (a full disk) is carried when
	// each view can be written again from its records (a view of known
	// columns, none of them from a note given with the record), and
	// collected again otherwise, so the resumed bundle has them: records
	// already read are not asked again of a log that may have dropped them
	// since.
	rebuild := map[string][]record.Column{} // a carried .jsonl -> its view's columns
	views := func(name string) (map[string][]record.Column, bool) {
		out := map[string][]record.Column{}
		for _, f := range pm.Files {
			if f.Source != name || f.MediaType != bundle.MediaJSONL || !omitted[record.CSVPath(f.Path)] {
				continue
			}
			cols := viewColumns(name, f.Path)
			if cols == nil {
				return nil, false
			}
			out[f.Path] = cols
		}
		return out, true
	}
	files := map[string]manifest.File{}
	for _, s := range pm.Sources {
		if slices.Contains(unfinished, s.Name) || !slices.ContainsFunc(want, func(w collect.Source) bool { return w.Name() == s.Name }) {
			continue
		}
		vs, ok := views(s.Name)
		if !ok {
			continue
		}
		for p, cols := range vs {
			rebuild[p] = cols
			c.views = append(c.views, record.CSVPath(p))
		}
		c.sources[s.Name] = s
		for _, f := range pm.Files { // its records, those it kept apart, and every file it names (message trace's details)
			if f.Source == s.Name || f.Source == manifest.OutOfScopeSource(s.Name) || slices.Contains(s.Files, f.Path) {
				files[f.Path] = f
			}
		}
	}
	copyOne := func(name string, r io.Reader) error {
		f, ok := files[name]
		if !ok {
			return nil
		}
		if cols, ok := rebuild[name]; ok {
			sink, err := stage.Open(f.Path, f.Source, cols)
			if err != nil {
				return err
			}
			return eachRecord(r, sink.Write)
		}
		w, err := stage.Create(f.Path, f.Source, f.MediaType)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, r)
		return err
	}
	if archived {
		fh, err := os.Open(c.from)
		if err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		defer fh.Close()
		if err := archive.Walk(fh, copyOne); err != nil {
			return nil, fmt.Errorf("resume: copying from %s: %w", c.from, err)
		}
		return c, nil
	}
	for p := range files {
		fh, err := os.Open(filepath.Join(c.from, filepath.FromSlash(p)))
		if err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		err = copyOne(p, fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("resume: copying %s from %s: %w", p, c.from, err)
		}
	}
	return c, nil
}

// note is the manifest warning of a resumed run that carried sources.
func (c *carry) note() string {
	var names []string
	for n := range c.sources {
		names = append(names, n)
	}
	n := "resumed: " + joinSorted(names) + " copied byte for byte from the partial bundle " + filepath.Base(c.from) +
		" (SHA-256 of its SHA256SUMS " + c.content + "), whose requests.jsonl holds the requests that read them"
	if len(c.views) > 0 {
		n += "; the CSV views it had left out for want of space (" + joinSorted(c.views) + ") are written again from those records"
	}
	return n
}

// viewColumns returns the columns of the CSV view of the record file rel
// of source (a manifest sources[].name), when the view can be written from
// the records alone; nil otherwise (columns vary per part, or one comes
// from a note given with the record, as the audits' Matched side).
func viewColumns(source, rel string) []record.Column {
	d, ok := collect.SourceOf(source)
	if !ok {
		return nil
	}
	for _, f := range d.Files {
		if ok, _ := path.Match(f.Pattern, rel); !ok || f.Columns == nil {
			continue
		}
		if slices.ContainsFunc(f.Columns, func(c record.Column) bool { return c.Note != "" }) {
			return nil
		}
		return f.Columns
	}
	return nil
}

// eachRecord passes write each line of a JSON Lines file, without its
// newline.
func eachRecord(r io.Reader, write func([]byte) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if rec := bytes.TrimSuffix(line, []byte("\n")); len(rec) > 0 {
			if werr := write(rec); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
