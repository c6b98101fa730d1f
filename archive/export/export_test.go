package export_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

const token = "export-test-token-0123456789abcdef"

// fixture is a simulated tenant, a state directory and an --out directory.
type fixture struct {
	srv      *graphtest.Server
	stateDir string
	out      string
	now      time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	now := time.Date(2026, 11, 10, 6, 0, 0, 0, time.UTC)
	srv, err := graphtest.NewServer(graphtest.Config{Seed: 7, Token: token, Now: now, AuditsPerUser: 40, SignInsPerUser: 40})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, stateDir: t.TempDir(), out: t.TempDir(), now: now}
}

// config is one daily run of the audits over the last two days, as a tar.
func (f *fixture) config(t *testing.T, hook func(string)) export.Config {
	t.Helper()
	store, err := state.Open(f.stateDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := &manifest.Manifest{Format: manifest.Format, CaseID: "00000000-0000-4000-8000-000000000001", Examiner: "test", Host: "test",
		Tool: manifest.Tool{Name: "evidence", Version: "test"}, CollectionStart: manifest.FormatTime(f.now)}
	return export.Config{
		Store: store, Holder: state.Holder{PID: os.Getpid(), Host: "test", Since: manifest.FormatTime(f.now)},
		Sources: []string{"audits"},
		Collectors: func(string) ([]collect.Source, error) {
			return []collect.Source{collect.DirectoryAudits{}}, nil
		},
		First: f.now.Add(-48 * time.Hour), Tier: "auto", Now: f.now,
		Pipeline: pipeline.Plan{
			Out: f.out, Manifest: m, Started: f.now, Now: func() time.Time { return f.now },
			Graph: &pipeline.Graph{Options: collect.Options{GraphURL: f.srv.URL, Credential: collect.StaticToken(token),
				Budgets: map[string]collect.Budget{collect.ClassReports: {Requests: 50, Per: 10 * time.Millisecond}},
				Retry:   collect.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}}},
			Outputs: []pipeline.Deliverer{pipeline.Tar{}},
		},
		Hook: hook,
	}
}

// crashAt runs one cycle and ends it at step as a crash would: nothing
// after the step runs (the lock is released, as the kernel releases a dead
// process's flock).
func crashAt(t *testing.T, cfg export.Config, step string) {
	t.Helper()
	reached := make(chan bool, 1)
	cfg.Hook = func(s string) {
		if s == step {
			reached <- true
			runtime.Goexit()
		}
	}
	cfg.Pipeline.Hook = cfg.Hook // the pipeline's own steps too (pipeline.StepCommitted ...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := export.Run(context.Background(), cfg); err != nil {
			t.Errorf("run before the crash: %v", err)
		}
	}()
	<-done
	select {
	case <-reached:
	default:
		t.Fatalf("the run never reached step %s", step)
	}
}

func loadState(t *testing.T, dir string) *state.State {
	t.Helper()
	s, _ := state.Open(dir, nil)
	st, err := state.Load(context.Background(), s)
	if err != nil || st == nil {
		t.Fatalf("state: %v %v", st, err)
	}
	return st
}

// TestSteps: a cycle reports its named steps in order, and commits one
// verified bundle whose content the index records.
func TestSteps(t *testing.T) {
	f := newFixture(t)
	var steps []string
	res, err := export.Run(context.Background(), f.config(t, func(s string) { steps = append(steps, s) }))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(steps, ","); got != "plan,collect,seal,publish,commit" {
		t.Fatalf("steps %s", got)
	}
	st := loadState(t, f.stateDir)
	if len(st.Index) != 1 || st.Pending != nil || st.Index[0].Location != res.Bundle.Path || st.Index[0].SHA256 != res.Bundle.SHA256 {
		t.Fatalf("state after one cycle: index %+v, pending %v; result %s %s", st.Index, st.Pending, res.Bundle.Path, res.Bundle.SHA256)
	}
}

// TestAdoptPublished: a run killed after publishing, before recording the
// bundle, leaves it pending; the next run finds it by its content hash,
// records it, and collects nothing again.
func TestAdoptPublished(t *testing.T) {
	f := newFixture(t)
	crashAt(t, f.config(t, nil), export.StepPublish)
	st := loadState(t, f.stateDir)
	if st.Pending == nil || len(st.Index) != 0 {
		t.Fatalf("after the crash: pending %v, index %d", st.Pending, len(st.Index))
	}
	archive := filepath.Join(f.out, st.Pending.Bundle+manifest.ArchiveSuffix)
	if _, err := os.Stat(archive); err != nil {
		t.Fatalf("the published archive: %v", err)
	}
	res, err := export.Run(context.Background(), f.config(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Adopted == nil || res.Adopted.Location != archive || res.Adopted.Seq != 1 || !res.NothingNew {
		t.Fatalf("rerun: adopted %+v, nothing new %v", res.Adopted, res.NothingNew)
	}
	st = loadState(t, f.stateDir)
	if st.Pending != nil || len(st.Index) != 1 || st.Index[0].Location != archive {
		t.Fatalf("after adoption: pending %v, index %+v", st.Pending, st.Index)
	}
	if w := st.Sources["audits"].Scopes[state.ScopeTenant].Watermark; w != st.Index[0].Interval.End {
		t.Fatalf("the adopted cycle's watermark %s is not its bundle's end %s", w, st.Index[0].Interval.End)
	}

	// The next day's cycle starts from the adopted watermark: it re-reads
	// the overlap, and every record there is one the adopted bundle holds,
	// so none is written twice.
	f.now = f.now.Add(24 * time.Hour)
	f.srv.Tenant.SetNow(f.now)
	res, err = export.Run(context.Background(), f.config(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	st = loadState(t, f.stateDir)
	if len(st.Index) != 2 || st.Pending != nil {
		t.Fatalf("day 2: index %d, pending %v", len(st.Index), st.Pending)
	}
	if p := st.VerifyChain(); len(p) != 0 {
		t.Fatal(p)
	}
	src := res.Bundle.Manifest.Sources[0]
	if src.Export == nil || src.Export.Scopes[0].Previous != st.Index[0].Interval.End || src.Export.Deduplicated == 0 {
		t.Fatalf("day 2 after adoption: %+v %+v", src, src.Export)
	}
}

// TestDiscardUnpublished: a run killed after sealing, before publishing
// (the sealed directory has its final name; the state recorded the cycle as
// pending before the rename), leaves a pending cycle whose bundle is
// nowhere it is published; the next run removes the sealed directory and
// exports the interval again.
func TestDiscardUnpublished(t *testing.T) {
	f := newFixture(t)
	crashAt(t, f.config(t, nil), pipeline.StepCommitted)
	st := loadState(t, f.stateDir)
	if st.Pending == nil {
		t.Fatal("no pending cycle after a crash at seal")
	}
	leftover := filepath.Join(f.out, st.Pending.Bundle)
	if _, err := os.Stat(leftover); err != nil {
		t.Fatalf("the sealed directory: %v", err)
	}
	res, err := export.Run(context.Background(), f.config(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Adopted != nil || res.Bundle == nil {
		t.Fatalf("rerun: adopted %+v, bundle %v", res.Adopted, res.Bundle)
	}
	st = loadState(t, f.stateDir)
	if st.Pending != nil || len(st.Index) != 1 {
		t.Fatalf("after the rerun: pending %v, index %d", st.Pending, len(st.Index))
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatalf("the unpublished directory is still there: %v", err)
	}
	entries, _ := os.ReadDir(f.out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("leftover %s", e.Name())
		}
	}
}

// TestPublishFailureKeepsWatermark: when the bundle cannot be published
// (here the archive's directory does not exist), the run fails, the
// watermark and the index stay where they were and the cycle is left
// pending; the next run, publishing where it can, discards it and exports
// the same interval again.
func TestPublishFailureKeepsWatermark(t *testing.T) {
	f := newFixture(t)
	cfg := f.config(t, nil)
	cfg.Pipeline.Outputs = []pipeline.Deliverer{pipeline.Tar{Path: filepath.Join(f.out, "no-such-dir", "bundle.tar.zst")}}
	var steps []string
	cfg.Hook = func(s string) { steps = append(steps, s) }
	if _, err := export.Run(context.Background(), cfg); err == nil {
		t.Fatal("a run whose archive cannot be written succeeded")
	}
	if got := strings.Join(steps, ","); got != "plan,collect,seal" {
		t.Fatalf("steps of the failed run: %s", got)
	}
	st := loadState(t, f.stateDir)
	if len(st.Index) != 0 || st.Pending == nil || len(st.Sources) != 0 {
		t.Fatalf("after a failed publish: index %d, pending %v, sources %v", len(st.Index), st.Pending, st.Sources)
	}
	interval := st.Pending.Entry.Interval

	res, err := export.Run(context.Background(), f.config(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	st = loadState(t, f.stateDir)
	if res.Adopted != nil || len(st.Index) != 1 || st.Pending != nil || st.Index[0].Interval != interval {
		t.Fatalf("the rerun: adopted %v, index %+v, pending %v; want the interval %v exported once", res.Adopted, st.Index, st.Pending, interval)
	}
	if w := st.Sources["audits"].Scopes[state.ScopeTenant].Watermark; w != interval.End {
		t.Fatalf("watermark %s, want %s", w, interval.End)
	}
}
