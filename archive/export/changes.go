package export

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/diff"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
)

// stateWindowDefault is how far back a State source's first cycle looks
// for changes its findings date (a credential added, a policy modified)
// when neither --since nor --backfill says: the longest Entra retention.
const stateWindowDefault = 30 * 24 * time.Hour

// collectState reads a State source whole: one run for every subject, its
// window (what its findings call "in the window") from the previous read
// to now. Its records are never de-duplicated against earlier bundles:
// each bundle holds the whole state as it was.
func (c *cycle) collectState(ctx context.Context, s *pipeline.Session, src collect.Source) (manifest.Source, error) {
	cfg := c.cfg
	key := src.Name()
	prev := c.st.Scope(key, state.ScopeTenant)
	from := cfg.Now.Add(-stateWindowDefault)
	if !cfg.First.IsZero() {
		from = cfg.First
	}
	if prev != nil && prev.Watermark != "" {
		if w, err := time.Parse(time.RFC3339Nano, prev.Watermark); err == nil {
			from = w
		}
	}
	to := cfg.Now.Truncate(time.Second)
	p := &scopePlan{source: key, scope: state.ScopeTenant, prev: prev, from: from, readFrom: from, to: to}
	sr := &scopeRun{plan: p}
	job := collect.Job{Window: collect.Window{Start: from, End: to}, Users: s.Users, AllUsers: len(s.Users) == 0, Now: s.Started,
		PageSize: cfg.PageSize, Progress: s.Progress, Facts: s.Facts}
	got, err := src.Collect(ctx, s.Client, job, s.Stage)
	if err != nil {
		return got, pipeline.GraphFail(err)
	}
	sr.advanced = len(got.Windows) > 0
	for _, w := range got.Windows {
		if w.Status != manifest.StatusCollected {
			sr.advanced = false
		}
	}
	c.runs = append(c.runs, sr)
	c.state = true
	es := manifest.ExportScope{Scope: state.ScopeTenant, ReadFrom: manifest.FormatTime(from), Watermark: manifest.FormatTime(to), Advanced: sr.advanced}
	if prev != nil {
		es.Previous = prev.Watermark
	}
	if !sr.advanced {
		es.Watermark = es.Previous
	}
	got.Export = &manifest.SourceExport{Scopes: []manifest.ExportScope{es}}
	return got, nil
}

// compare writes diff.json, the changes in the state sources since the
// previous bundle of the series, into the stage and summarises it in the
// manifest. A previous bundle that cannot be read or does not verify is a
// warning and a reason in the summary, never a reason to lose this cycle.
func (c *cycle) compare(ctx context.Context, s *pipeline.Session) error {
	m := s.Manifest
	sum := &manifest.ExportChanges{}
	m.Export.Changes = sum
	if len(c.st.Index) == 0 {
		sum.NotCompared = "the first bundle of the series: nothing to compare with"
		return nil
	}
	last := c.st.Index[len(c.st.Index)-1]
	sum.Previous = last.Location
	old, err := c.loadPrevious(ctx, last)
	if err != nil {
		sum.NotCompared = "the previous bundle could not be compared: " + err.Error()
		m.Warnings = append(m.Warnings, "changes since the previous bundle not computed: "+err.Error())
		return nil
	}
	if err := s.Stage.Flush(); err != nil {
		return err
	}
	cur, err := diff.Current(s.Stage.Dir(), m)
	if err != nil {
		return err
	}
	res := diff.States(old, cur)
	res.New.Path = s.Stage.Name()
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	w, err := s.Stage.Create(diff.File, "export", "application/json")
	if err != nil {
		return err
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return err
	}
	sum.File = diff.File
	sum.Appeared, sum.Disappeared, sum.Changed = res.Counts()
	sum.Alerts = len(res.Alerts())
	c.alerts = res.Alerts()
	return nil
}

// loadPrevious verifies and reads the bundle an index entry records, where
// it was published: a directory, a local archive or a blob. An archive's
// bytes must hash to the SHA-256 the index holds.
func (c *cycle) loadPrevious(ctx context.Context, e state.Entry) (*diff.State, error) {
	p := pipeline.Published{Path: e.Location}
	if isURL(e.Location) {
		s, err := blobStore(c.cfg.Pipeline.Outputs, e.Location)
		if err != nil {
			return nil, err
		}
		p = pipeline.Published{Store: s}
	} else if fi, err := os.Stat(e.Location); err != nil {
		return nil, err
	} else if fi.IsDir() {
		return diff.Load(e.Location)
	}
	var st *diff.State
	sum, _, err := pipeline.ReadPublished(ctx, p, func(r io.Reader) (err error) {
		st, err = diff.LoadReader(e.Location, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if e.SHA256 != "" && sum != e.SHA256 {
		return nil, fmt.Errorf("%s: SHA-256 %s, the index recorded %s", e.Location, sum, e.SHA256)
	}
	return st, nil
}

// isURL reports a location published as a blob.
func isURL(loc string) bool {
	return strings.HasPrefix(loc, "https://") || strings.HasPrefix(loc, "http://")
}

// blobStore opens the blob at url with the run's blob output (its account
// and credential).
func blobStore(outputs []pipeline.Deliverer, url string) (*blob.Store, error) {
	var open func(blob.Target) (*blob.Store, error)
	for _, o := range outputs {
		if b, ok := o.(pipeline.Blob); ok && b.Open != nil {
			open = b.Open
		}
	}
	if open == nil {
		return nil, fmt.Errorf("%s is a blob and this run has no blob output to read it with", url)
	}
	t, err := blob.ParseURL(url)
	if err != nil {
		return nil, err
	}
	return open(t)
}
