// Package ual collects the Microsoft Purview unified audit log through the
// Graph audit log query API (/security/auditLog/queries): asynchronous
// queries over split windows, run concurrently, polled until they finish,
// their records paged and spooled, then written to the bundle de-duplicated
// by record id. A query that reaches the service's per-query record limit
// is split in halves and run again, so no result is ever accepted capped.
// The queries of a run are saved in a state directory, so that a killed run
// can be resumed without submitting them again.
package ual

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// Bundle paths.
const (
	RecordsPath        = "ual/records.jsonl"
	SignInsFromUALPath = "signins/from-ual.jsonl"
)

// Name is the source's name in --sources and the manifest.
const Name = "ual"

// Options configure the collector. Zero values take the defaults below.
type Options struct {
	APIVersion   string        // "beta" (default) or "v1.0"
	Operations   []string      // operationFilters
	RecordTypes  []string      // recordTypeFilters
	Services     []string      // one query per service (serviceFilter / serviceFilters)
	Keyword      string        // keywordFilter
	Concurrency  int           // queries in flight (queued or running) at once, and readers of finished queries' pages (default 4; the tenant allows at least 50 queued or running)
	Windows      int           // initial windows the requested window is split into (default Concurrency)
	PollInterval time.Duration // first status poll after a submission (default 10 s), growing by half up to MaxPoll
	MaxPoll      time.Duration // longest wait between polls (default 1 min)
	QueryTimeout time.Duration // a query not finished by then marks its window failed (default 1 h)
	PageSize     int           // $top of /records (default 1000; the service's maximum is not documented)
	RecordLimit  int64         // per-query record limit assumed when the service does not report it (default 1,000,000)
	MaxQueries   int64         // submissions this run may spend (default 60 of the tenant's 200 per 24 h)
	CaseID       string        // names the queries ("evidence <case id> ...")
	StateDir     string        // where the queries and spooled records are kept for --resume (required)
}

// Defaults.
const (
	DefaultConcurrency  = 4
	DefaultPollInterval = 10 * time.Second
	DefaultMaxPoll      = time.Minute
	DefaultQueryTimeout = time.Hour
	DefaultPageSize     = 1000
	DefaultRecordLimit  = 1000000
	DefaultMaxQueries   = 60
)

func (o Options) withDefaults() Options {
	if o.APIVersion == "" {
		o.APIVersion = "beta"
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Windows <= 0 {
		o.Windows = o.Concurrency
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.MaxPoll <= 0 {
		o.MaxPoll = max(DefaultMaxPoll, o.PollInterval)
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.RecordLimit <= 0 {
		o.RecordLimit = DefaultRecordLimit
	}
	if o.MaxQueries <= 0 {
		o.MaxQueries = DefaultMaxQueries
	}
	return o
}

// Source is the unified audit log collector.
type Source struct {
	Opt    Options
	Log    *slog.Logger
	prior  []manifest.Source
	warns  []string
	Stats  Stats // what the last Collect did
	mu     sync.Mutex
	api    *api
	st     *state
	failed error // first fatal error
}

// Stats are the counts of the last Collect.
type Stats struct {
	Submitted, Reused, Split, Duplicates, Records int64
	Followed                                      int64 // queries written while their pages were read
}

// Name implements collect.Source.
func (s *Source) Name() string { return Name }

// SetPrior hands the collector the sources collected before it in the same
// run: when sign-ins were refused for licence, the unified audit log's Entra
// sign-in events are written additionally as signins/from-ual.jsonl.
func (s *Source) SetPrior(p []manifest.Source) { s.prior = p }

// Warnings are the notes of the last Collect for the manifest: splits,
// submissions used, the service filter form accepted.
func (s *Source) Warnings() []string { return s.warns }

func (s *Source) warn(format string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.warns = append(s.warns, "ual: "+fmt.Sprintf(format, a...))
}

func (s *Source) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// signInsUnavailable reports whether a sign-in source of this run was
// refused (licence or permission).
func (s *Source) signInsUnavailable() bool {
	for _, p := range s.prior {
		if strings.HasPrefix(p.Name, "signins") && p.Status == manifest.StatusUnavailable {
			return true
		}
	}
	return false
}

// fingerprint identifies the options a state file belongs to.
func (o Options) fingerprint(job collect.Job) string {
	var upns []string
	for _, u := range job.Users {
		upns = append(upns, strings.ToLower(u.UPN))
	}
	return fmt.Sprintf("%s|%v|%v|%v|%v|%q|%v", o.APIVersion, upns, o.Operations, o.RecordTypes, o.Services, o.Keyword, job.AllUsers)
}

// Collect implements collect.Source.
func (s *Source) Collect(ctx context.Context, c *collect.Client, job collect.Job, out collect.Output) (manifest.Source, error) {
	o := s.Opt.withDefaults()
	s.warns, s.Stats, s.failed = nil, Stats{}, nil
	s.api = newAPI(c, o.APIVersion, Name)
	src := manifest.Source{Name: Name, Endpoint: "POST " + s.api.queriesURL()}
	if o.StateDir == "" {
		return src, &collect.FatalError{Err: errors.New("ual: no state directory")}
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return src, &collect.FatalError{Err: fmt.Errorf("ual state: %w", err)}
	}
	f := filters{operations: o.Operations, recordTypes: o.RecordTypes, keyword: o.Keyword,
		name: "evidence " + o.CaseID}
	for _, u := range job.Users {
		f.upns = append(f.upns, u.UPN)
	}
	src.Query = string(f.body(collect.Window{Start: time.Unix(0, 0).UTC(), End: time.Unix(0, 0).UTC()}, s.api.firstFm))
	src.Query = strings.Replace(strings.Replace(src.Query, `"1970-01-01T00:00:00Z"`, `"<start>"`, 1), `"1970-01-01T00:00:00Z"`, `"<end>"`, 1)

	// The task list: a resumed run's, or a fresh plan.
	s.st = &state{dir: o.StateDir}
	s.st.cond = sync.NewCond(&s.st.mu)
	prev, err := loadState(o.StateDir)
	if err != nil {
		return src, &collect.FatalError{Err: fmt.Errorf("ual: resume state: %w", err)}
	}
	win := [2]string{collect.FormatTime(job.Window.Start), collect.FormatTime(job.Window.End)}
	if prev != nil && (prev.Window != win || prev.Filters != o.fingerprint(job)) {
		return src, &collect.FatalError{Err: fmt.Errorf("ual: the resume state in %s belongs to another window or other filters", o.StateDir)}
	}
	if prev != nil {
		s.st.f = *prev
		for _, t := range s.st.f.Tasks {
			switch t.State {
			case taskSubmitted, taskPaging, taskDone:
				if t.QueryID != "" {
					t.Reused = true
					s.Stats.Reused++
					s.log().Info("ual: re-using the query of the interrupted run", "id", t.QueryID, "window", t.window().String(), "state", t.State)
				}
			case taskFailed: // a resumed run tries a failed window again
				t.State, t.QueryID, t.Body, t.NextLink, t.Offset, t.Pages, t.Records, t.Status, t.Reason = taskPending, "", "", "", 0, 0, 0, "", ""
			}
		}
	} else {
		s.st.f = stateFile{Version: 1, Window: win, Filters: o.fingerprint(job)}
		services := o.Services
		if len(services) == 0 {
			services = []string{""}
		}
		for _, w := range splitWindow(job.Window, o.Windows) {
			for _, svc := range services {
				s.st.f.Tasks = append(s.st.f.Tasks, &task{N: len(s.st.f.Tasks), Start: w.Start, End: w.End, Service: svc, State: taskPending, Parent: -1})
			}
		}
	}
	if err := s.st.update(func() {}); err != nil {
		return src, &collect.FatalError{Err: err}
	}
	s.log().Info("ual: audit log queries", "api", o.APIVersion, "windows", len(s.st.f.Tasks), "concurrency", o.Concurrency,
		"page_size", o.PageSize, "poll", o.PollInterval, "timeout", o.QueryTimeout, "state", o.StateDir)

	sink, signSink, err := s.openOutput(out, &src)
	if err != nil {
		return src, err
	}
	src.Status = manifest.StatusCollected
	asm := &assembler{s: s, job: job, sink: sink, signSink: signSink, src: &src, seen: map[[16]byte]struct{}{}}
	done := make(chan error, 1)
	go func() { done <- asm.run() }()
	runErr := s.run(ctx, o, f, job)
	s.st.mu.Lock()
	s.st.stopped = true // every task is final now, or the run failed
	s.st.cond.Broadcast()
	s.st.mu.Unlock()
	asmErr := <-done
	if runErr != nil {
		return src, runErr
	}
	if asmErr != nil {
		return src, asmErr
	}
	s.finish(&src, asm.signIns, signSink)
	if ss, ok := sink.(*collect.ScopedSink); ok {
		ss.Account(&src)
	}
	return src, nil
}

// splitWindow cuts w into n parts at whole seconds (fewer when w is short).
func splitWindow(w collect.Window, n int) []collect.Window {
	secs := int64(w.Duration() / time.Second)
	if int64(n) > secs {
		n = int(max(secs, 1))
	}
	var out []collect.Window
	start := w.Start
	for i := 1; i <= n; i++ {
		end := w.End
		if i < n {
			end = w.Start.Add(w.Duration() / time.Duration(n) * time.Duration(i)).Truncate(time.Second)
		}
		if !end.After(start) {
			continue
		}
		out = append(out, collect.Window{Start: start, End: end})
		start = end
	}
	return out
}

// run works through the task list: o.Concurrency query workers submit
// queries and poll them until they finish (so at most o.Concurrency
// queries are queued or running on the service), and hand each succeeded
// query to o.Concurrency readers, which page its records. A query worker
// goes on to the next window while the finished one is read, so the next
// queries run on the service while records are paged. Both take their
// tasks in the bundle's order (taskQueue).
func (s *Source) run(ctx context.Context, o Options, f filters, job collect.Job) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queries, reads := newTaskQueue(s.st), newTaskQueue(s.st)
	var wg sync.WaitGroup // tasks queued or being worked on
	for _, t := range s.st.f.Tasks {
		switch t.State {
		case taskPending, taskSubmitted:
			wg.Add(1)
			queries.push(t)
		case taskPaging:
			wg.Add(1)
			reads.push(t)
		}
	}
	var refusedMu sync.Mutex
	refused := ""
	fatal := func(err error) {
		s.mu.Lock()
		if s.failed == nil {
			s.failed = err
		}
		s.mu.Unlock()
		cancel()
	}
	requeue := func(kids []*task) {
		for _, k := range kids {
			wg.Add(1)
			queries.push(k)
		}
	}
	var workers sync.WaitGroup
	for i := 0; i < o.Concurrency; i++ {
		workers.Add(2)
		go func() {
			defer workers.Done()
			for {
				t, ok := queries.pop()
				if !ok {
					return
				}
				refusedMu.Lock()
				r := refused
				refusedMu.Unlock()
				kids, unavailable, read, err := s.query(ctx, o, f, job, t, r)
				if err != nil {
					fatal(err)
				}
				if unavailable != "" {
					refusedMu.Lock()
					refused = unavailable
					refusedMu.Unlock()
				}
				requeue(kids)
				if read && err == nil {
					wg.Add(1)
					reads.push(t)
				}
				wg.Done()
			}
		}()
		go func() {
			defer workers.Done()
			for {
				t, ok := reads.pop()
				if !ok {
					return
				}
				kids, err := s.read(ctx, o, t, job.Progress)
				if err != nil {
					fatal(err)
				}
				requeue(kids)
				wg.Done()
			}
		}()
	}
	wg.Wait()
	queries.close()
	reads.close()
	workers.Wait()
	return s.failed
}

// query advances one task until its query has succeeded (read is true:
// its records are to be read), or to failed or split. It returns the halves
// to queue, a licence/permission refusal that holds for every window, or a
// fatal error.
func (s *Source) query(ctx context.Context, o Options, f filters, job collect.Job, t *task, refused string) (kids []*task, unavailable string, read bool, err error) {
	if ctx.Err() != nil {
		return nil, "", false, ctx.Err()
	}
	fail := func(status, reason string) error {
		return s.st.update(func() { t.State, t.Status, t.Reason = taskFailed, status, reason })
	}
	if refused != "" && t.QueryID == "" {
		return nil, "", false, fail(manifest.StatusUnavailable, refused)
	}
	w := t.window()
	if t.QueryID == "" {
		s.st.mu.Lock()
		spent := s.Stats.Submitted >= o.MaxQueries
		if !spent {
			s.Stats.Submitted++ // counted before the POST: a lost answer may still have created one
		}
		s.st.mu.Unlock()
		if spent {
			return nil, "", false, fail(manifest.StatusFailed, fmt.Sprintf("not submitted: this run's budget of %d audit log queries is spent (--ual-max-queries); the tenant allows at least 200 per 24 h", o.MaxQueries))
		}
		ff := f
		ff.service = t.Service
		id, body, err := s.api.create(ctx, ff, w)
		if err != nil && notCreated(err) {
			s.st.mu.Lock()
			s.Stats.Submitted-- // refused: no query exists
			s.st.mu.Unlock()
		}
		if err != nil {
			status, reason, fatal := collect.Classify(err)
			if fatal {
				return nil, "", false, &collect.FatalError{Err: fmt.Errorf("ual: creating the query for %s: %w", w, err)}
			}
			if status == manifest.StatusUnavailable {
				return nil, reason, false, fail(status, reason)
			}
			return nil, "", false, fail(status, "creating the query: "+reason)
		}
		if err := s.st.update(func() {
			t.QueryID, t.Body, t.State = id, string(body), taskSubmitted
			s.st.f.Submitted++
		}); err != nil {
			return nil, "", false, &collect.FatalError{Err: err}
		}
		s.log().Debug("ual: query created", "id", id, "window", w.String())
	}

	if t.State == taskSubmitted {
		qs, err := s.await(ctx, o, t, job.Progress)
		var ge *collect.GraphError
		if err != nil && t.Reused && errors.As(err, &ge) && ge.Status == http.StatusNotFound {
			// The interrupted run's query is gone from the service: run it again.
			s.log().Warn("ual: the interrupted run's query no longer exists; submitting it again", "id", t.QueryID, "window", w.String())
			if err := s.st.update(func() { t.State, t.QueryID, t.Body, t.Reused = taskPending, "", "", false }); err != nil {
				return nil, "", false, &collect.FatalError{Err: err}
			}
			s.st.mu.Lock()
			s.Stats.Reused--
			s.st.mu.Unlock()
			return s.query(ctx, o, f, job, t, refused)
		}
		if err != nil {
			status, reason, fatal := collect.Classify(err)
			if fatal {
				return nil, "", false, &collect.FatalError{Err: fmt.Errorf("ual: query %s: %w", t.QueryID, err)}
			}
			return nil, "", false, fail(status, fmt.Sprintf("query %s: %s", t.QueryID, reason))
		}
		switch qs.Status {
		case StatusSucceeded:
		case "":
			return nil, "", false, fail(manifest.StatusFailed, fmt.Sprintf("query %s did not finish within %s (--ual-query-timeout)", t.QueryID, o.QueryTimeout))
		default:
			return nil, "", false, fail(manifest.StatusFailed, fmt.Sprintf("query %s ended %s", t.QueryID, qs.Status))
		}
		if qs.LimitExceeded != nil && *qs.LimitExceeded {
			kids, _, err := s.split(o, t, "the service reports isRecordCountLimitExceeded")
			return kids, "", false, err
		}
		if err := s.st.update(func() {
			t.State = taskPaging
			if qs.RecordCountLimit != nil {
				t.Limit = *qs.RecordCountLimit
			}
			t.Complete = qs.LimitExceeded != nil // and false: true was split above
		}); err != nil {
			return nil, "", false, &collect.FatalError{Err: err}
		}
	}
	return nil, "", t.State == taskPaging, nil
}

// read pages a succeeded query's records to done, failed or split. It
// returns the halves to queue, or a fatal error.
func (s *Source) read(ctx context.Context, o Options, t *task, prog collect.Progress) ([]*task, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := s.page(ctx, o, t, prog); err != nil {
		status, reason, fatal := collect.Classify(err)
		if fatal {
			return nil, &collect.FatalError{Err: err}
		}
		return nil, s.st.update(func() {
			t.State, t.Status, t.Reason = taskFailed, status, fmt.Sprintf("query %s: reading records: %s", t.QueryID, reason)
		})
	}
	limit := o.RecordLimit
	if t.Limit > 0 {
		limit = t.Limit
	}
	if t.Records >= limit && !t.Complete { // the service did not say whether its limit was exceeded
		kids, _, err := s.split(o, t, fmt.Sprintf("%d records reached the limit of %d", t.Records, limit))
		return kids, err
	}
	return nil, s.st.update(func() { t.State = taskDone })
}

// split replaces t by its halves.
func (s *Source) split(o Options, t *task, why string) ([]*task, string, error) {
	a, b, ok := t.window().Halves()
	if !ok {
		return nil, "", s.st.update(func() {
			t.State, t.Status = taskFailed, manifest.StatusFailed
			t.Reason = fmt.Sprintf("query %s: %s within %s, which cannot be split further", t.QueryID, why, t.window())
		})
	}
	var kids []*task
	err := s.st.update(func() {
		t.State, t.Reason = taskSplit, why
		for _, w := range []collect.Window{a, b} {
			k := &task{N: len(s.st.f.Tasks), Start: w.Start, End: w.End, Service: t.Service, State: taskPending, Parent: t.N}
			s.st.f.Tasks = append(s.st.f.Tasks, k)
			t.Children = append(t.Children, k.N)
			kids = append(kids, k)
		}
		s.Stats.Split++
	})
	s.warn("query %s over %s was not accepted: %s; split into %s and %s", t.QueryID, t.window(), why, a, b)
	s.log().Info("ual: query reached the record limit; splitting", "id", t.QueryID, "window", t.window().String(), "why", why)
	os.Remove(s.st.spoolPath(t.N))
	return kids, "", err
}

// await polls the query until it reaches a final status or the timeout
// (then it returns a state with an empty Status).
func (s *Source) await(ctx context.Context, o Options, t *task, prog collect.Progress) (*queryState, error) {
	deadline := time.Now().Add(o.QueryTimeout)
	wait := o.PollInterval
	last := ""
	for {
		if !t.Reused || last != "" {
			d := min(wait, time.Until(deadline))
			if d < 0 {
				d = 0
			}
			collect.ReportWait(prog, Name, collect.WaitQuery, d)
			tm := time.NewTimer(d)
			select {
			case <-tm.C:
			case <-ctx.Done():
				tm.Stop()
				return nil, ctx.Err()
			}
			wait = min(wait+wait/2, o.MaxPoll)
		}
		qs, err := s.api.get(ctx, t.QueryID)
		if err != nil {
			return nil, err
		}
		last = qs.Status
		switch qs.Status {
		case StatusSucceeded, StatusFailed, StatusCancelled:
			return qs, nil
		}
		if !time.Now().Before(deadline) {
			s.log().Warn("ual: query did not finish in time", "id", t.QueryID, "status", last, "timeout", o.QueryTimeout)
			return &queryState{ID: t.QueryID}, nil
		}
	}
}

// page reads the query's records from where the task stopped, spooling each
// page and saving the position after it.
func (s *Source) page(ctx context.Context, o Options, t *task, prog collect.Progress) error {
	sp, err := s.st.openSpool(t.N, t.Offset)
	if err != nil {
		// The spool lost its tail (a machine crash): read the query again.
		s.log().Warn("ual: spool shorter than recorded; re-reading the query from its first page", "id", t.QueryID, "err", err)
		if err := s.st.update(func() { t.NextLink, t.Offset, t.Pages, t.Records = "", 0, 0, 0 }); err != nil {
			return &collect.FatalError{Err: err}
		}
		if sp, err = s.st.openSpool(t.N, 0); err != nil {
			return &collect.FatalError{Err: err}
		}
	}
	defer sp.close()
	s.st.touch(func() { t.live = true }) // the assembler may follow the spool from now on
	defer s.st.touch(func() { t.live = false })
	pages := s.api.c.PagesAhead
	first := t.NextLink
	switch {
	case first != "": // the service's link, followed as given
		pages = s.api.c.ResumePagesAhead
	case t.Pages > 0: // every page was read before the interruption
		return nil
	default:
		first = s.api.recordsURL(t.QueryID, o.PageSize)
	}
	_, err = pages(ctx, ClassAuditRead, Name, first, func(_ int, p *collect.Page) error {
		for _, r := range p.Records {
			if err := sp.write(r); err != nil {
				return &collect.FatalError{Err: fmt.Errorf("ual: spooling records: %w", err)}
			}
		}
		if err := sp.flush(); err != nil {
			return &collect.FatalError{Err: fmt.Errorf("ual: spooling records: %w", err)}
		}
		if prog != nil {
			prog.Add(Name, len(p.Records), 1)
		}
		next := p.NextLink
		return s.st.update(func() {
			t.Pages++
			t.Records += int64(len(p.Records))
			t.Offset = sp.n
			t.NextLink = next
		})
	})
	return err
}

// assembler writes the spooled records into the bundle while the queries
// run: windows in order (the initial windows by start, a split window's
// halves in its place), each as soon as its query is done, de-duplicated by
// record id; it accounts for every query.
type assembler struct {
	s              *Source
	job            collect.Job
	sink, signSink collect.Sink
	src            *manifest.Source
	seen           map[[16]byte]struct{}
	signIns        int64
}

// errStopped ends the assembler when the run stopped on a fatal error.
var errStopped = errors.New("ual: collection stopped")

func (a *assembler) run() error {
	var roots []*task
	a.s.st.mu.Lock()
	for _, t := range a.s.st.f.Tasks {
		if t.Parent < 0 {
			roots = append(roots, t)
		}
	}
	a.s.st.mu.Unlock()
	for _, t := range roots {
		if err := a.walk(t); err != nil {
			return err
		}
	}
	return nil
}

func terminal(state string) bool {
	return state == taskDone || state == taskFailed || state == taskSplit
}

// walk waits for t to finish, then writes it, or its halves in order. A
// query that cannot be split any more (Complete) is written while its
// pages are read, when it is next in order: the assembler follows its spool
// page by page instead of waiting for the last one.
func (a *assembler) walk(t *task) error {
	st := a.s.st
	followable := func() bool { return t.State == taskPaging && t.Complete && t.live }
	st.mu.Lock()
	for !terminal(t.State) && !st.stopped && !followable() {
		st.cond.Wait()
	}
	follow := !terminal(t.State) && followable()
	if !terminal(t.State) && !follow {
		st.mu.Unlock()
		return errStopped
	}
	st.mu.Unlock()
	if follow {
		a.s.Stats.Followed++ // the assembler's own count: no lock
	}
	// A followed query is written as its pages come; any other is final
	// here, and written unless it was split.
	var n, dup, si int64
	if follow || t.State != taskSplit && t.Records > 0 {
		var err error
		if n, dup, si, err = a.copy(t); err != nil {
			return err
		}
	}
	st.mu.Lock() // t is final now
	kids := make([]*task, 0, len(t.Children))
	for _, n := range t.Children {
		kids = append(kids, st.f.Tasks[n])
	}
	st.mu.Unlock()
	src := a.src
	sw := manifest.SubWindow{Window: manifest.NewWindow(t.Start, t.End), Scope: scope(a.job, t), Status: manifest.StatusCollected,
		Pages: t.Pages, Records: t.Records, Query: t.Body, QueryID: t.QueryID}
	switch t.State {
	case taskSplit:
		sw.Status, sw.Reason, sw.Pages, sw.Records = manifest.StatusFailed, "replaced by smaller queries: "+t.Reason, 0, 0
		src.Superseded = append(src.Superseded, sw)
		for _, k := range kids {
			if err := a.walk(k); err != nil {
				return err
			}
		}
		return nil
	case taskFailed:
		sw.Status, sw.Reason = t.Status, t.Reason
		if sw.Status == "" {
			sw.Status = manifest.StatusFailed
		}
		src.Missing = append(src.Missing, manifest.Gap{Window: sw.Window, Scope: sw.Scope, Status: sw.Status, Reason: sw.Reason})
		if src.Status == manifest.StatusCollected {
			src.Status, src.Reason = sw.Status, sw.Reason
		}
	}
	src.Windows = append(src.Windows, sw)
	src.Pages += t.Pages
	src.Records += n
	src.Duplicates += dup
	a.signIns += si
	return nil
}

// copy writes t's spooled records into the bundle, within t's scope.
func (a *assembler) copy(t *task) (n, dup, si int64, err error) {
	if ss, ok := a.sink.(*collect.ScopedSink); ok {
		// The query's window is closed, in whole seconds (docs/sources.md).
		sc := &collect.Scope{Window: t.window(), TimeProp: "createdDateTime", Inclusive: true}
		if !a.job.AllUsers && len(a.job.Users) > 0 {
			var vals []string
			for _, u := range a.job.Users {
				vals = append(vals, u.UPN, u.ID)
			}
			sc.Require = []collect.Cond{{What: "user", Paths: []string{"userPrincipalName", "userId"}, Values: vals}}
		}
		ss.SetScope(sc)
	}
	n, dup, si, err = a.s.copySpool(t, a.sink, a.signSink, a.seen)
	if errors.Is(err, errStopped) {
		return n, dup, si, err
	}
	if err != nil {
		return n, dup, si, &collect.FatalError{Err: err}
	}
	return n, dup, si, nil
}

// openOutput opens the record files.
func (s *Source) openOutput(out collect.Output, src *manifest.Source) (collect.Sink, collect.Sink, error) {
	inner, err := out.Open(RecordsPath, Name, Columns)
	if err != nil {
		return nil, nil, &collect.FatalError{Err: err}
	}
	// Records outside the asked users and window are kept apart.
	sink := collect.NewScopedSink(out, RecordsPath, Name, Columns, inner)
	src.Files = []string{RecordsPath, collect.CSVPath(RecordsPath)}
	var signSink collect.Sink
	if s.signInsUnavailable() {
		// A second view of records already in ual/records.jsonl: tagged with
		// its own source name so the per-source record counts stay checkable.
		if signSink, err = out.Open(SignInsFromUALPath, Name+".signins", Columns); err != nil {
			return nil, nil, &collect.FatalError{Err: err}
		}
		src.Files = append(src.Files, SignInsFromUALPath, collect.CSVPath(SignInsFromUALPath))
	}
	return sink, signSink, nil
}

// finish records the run's totals and notes.
func (s *Source) finish(src *manifest.Source, signIns int64, signSink collect.Sink) {
	src.Submissions = s.Stats.Submitted
	src.Reused = s.Stats.Reused
	s.Stats.Duplicates, s.Stats.Records = src.Duplicates, src.Records
	s.warn("%d audit log queries submitted by this run (%d over all runs of this collection), %d re-used from an interrupted run; the tenant allows at least 200 submissions per 24 h",
		s.Stats.Submitted, s.st.f.Submitted, s.Stats.Reused)
	if form := s.api.serviceForm(); form != "" {
		s.warn("the service accepted the service filter as %s", form)
	}
	if signSink != nil {
		s.warn("sign-in logs were unavailable; %d Entra sign-in events (UserLoggedIn, UserLoginFailed) from the unified audit log are also in %s", signIns, SignInsFromUALPath)
	}
	s.log().Info("ual: done (the tenant allows at least 200 query submissions per 24 h)", "records", src.Records, "duplicates", src.Duplicates,
		"queries_submitted", s.Stats.Submitted, "queries_reused", s.Stats.Reused, "splits", s.Stats.Split)
}

func scope(job collect.Job, t *task) string {
	var parts []string
	for _, u := range job.Users {
		parts = append(parts, u.UPN)
	}
	sc := strings.Join(parts, ",")
	if t.Service != "" {
		sc += " service=" + t.Service
	}
	return sc
}

// spoolBatch is how many records copySpool hands the sink at once.
const spoolBatch = 512

// copySpool writes a task's spooled records, as far as its state records
// them: all of them once it is final, or page by page while it is read
// (spoolReader).
// Without a second sign-in file, records go to the sink in batches
// (record.BatchSink), so their CSV rows are computed while the records
// before them are written.
func (s *Source) copySpool(t *task, sink, signSink collect.Sink, seen map[[16]byte]struct{}) (written, dups, signIns int64, err error) {
	f, err := os.Open(s.st.spoolPath(t.N))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("ual: spool of %s: %w", t.window(), err)
	}
	defer f.Close()
	sc := bufio.NewScanner(&spoolReader{st: s.st, t: t, f: f})
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	bs, batched := sink.(record.BatchSink)
	batched = batched && signSink == nil
	var (
		arena []byte
		batch [][]byte
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := bs.WriteBatch(batch); err != nil {
			return fmt.Errorf("ual: writing record: %w", err)
		}
		written += int64(len(batch))
		arena, batch = arena[:0], batch[:0]
		return nil
	}
	var read int64
	for sc.Scan() {
		read++
		rec := sc.Bytes()
		if id := gjson.GetBytes(rec, "id").String(); id != "" {
			k := sha256.Sum256([]byte(id))
			var key [16]byte
			copy(key[:], k[:16])
			if _, dup := seen[key]; dup {
				dups++
				continue
			}
			seen[key] = struct{}{}
		}
		if batched {
			if len(arena)+len(rec) > cap(arena) {
				// A new arena: the batch still points into the old one.
				if err := flush(); err != nil {
					return written, dups, signIns, err
				}
				arena = make([]byte, 0, max(4<<20, 2*len(rec)))
			}
			start := len(arena)
			arena = append(arena, rec...)
			batch = append(batch, arena[start:len(arena):len(arena)])
			if len(batch) == spoolBatch {
				if err := flush(); err != nil {
					return written, dups, signIns, err
				}
			}
			continue
		}
		if err := sink.Write(rec); err != nil {
			return written, dups, signIns, fmt.Errorf("ual: writing record: %w", err)
		}
		written++
		if signSink == nil {
			continue
		}
		if ss, ok := sink.(*collect.ScopedSink); ok && !ss.InScope(rec) {
			continue // kept apart; not a sign-in of the subject either
		}
		if isSignIn(rec) {
			if err := signSink.Write(rec); err != nil {
				return written, dups, signIns, fmt.Errorf("ual: writing record: %w", err)
			}
			signIns++
		}
	}
	if err := sc.Err(); err != nil {
		return written, dups, signIns, fmt.Errorf("ual: spool of %s: %w", t.window(), err)
	}
	if err := flush(); err != nil {
		return written, dups, signIns, err
	}
	s.st.mu.Lock()
	want := t.Records // final: the spool reader ended
	s.st.mu.Unlock()
	if read != want {
		return written, dups, signIns, fmt.Errorf("ual: spool of %s holds %d records, %d were read", t.window(), read, want)
	}
	return written, dups, signIns, nil
}

// isSignIn recognises Entra sign-in events in the unified audit log.
func isSignIn(rec []byte) bool {
	r := gjson.ParseBytes(rec)
	switch r.Get("auditLogRecordType").String() {
	case "azureActiveDirectoryStsLogon", "azureActiveDirectoryAccountLogon":
		return true
	}
	switch r.Get("operation").String() {
	case "UserLoggedIn", "UserLoginFailed":
		return true
	}
	return false
}

// notCreated reports whether a failed submission certainly created no query:
// the service answered with an error (4xx) or only ever with 429. After a
// reset or a 5xx a query may exist, so it stays counted.
func notCreated(err error) bool {
	var ge *collect.GraphError
	var gu *collect.GaveUpError
	switch {
	case errors.As(err, &ge):
		return true
	case errors.As(err, &gu):
		return gu.Throttled
	}
	return false
}

// Checked returns o with the operations of preset (a Presets name, "" for
// none) added and duplicates dropped, or an error naming the --ual-* flag
// that is out of range.
func (o Options) Checked(preset string) (Options, error) {
	if o.APIVersion != "beta" && o.APIVersion != "v1.0" {
		return o, fmt.Errorf("--ual-api-version %q: use beta or v1.0", o.APIVersion)
	}
	o.RecordTypes, o.Services = clean(o.RecordTypes), clean(o.Services)
	ops := clean(o.Operations)
	if preset != "" {
		p, ok := Presets[preset]
		if !ok {
			return o, fmt.Errorf("--preset %q: known presets: mailbox-takeover", preset)
		}
		ops = append(ops, p...)
	}
	seen := map[string]bool{}
	o.Operations = nil
	for _, op := range ops {
		if !seen[strings.ToLower(op)] {
			seen[strings.ToLower(op)] = true
			o.Operations = append(o.Operations, op)
		}
	}
	switch {
	case o.Concurrency < 1 || o.Concurrency > 50:
		return o, fmt.Errorf("--ual-concurrency %d: use 1 to 50 (the tenant allows at least 50 queued or running queries)", o.Concurrency)
	case o.Windows < 0:
		return o, fmt.Errorf("--ual-windows must not be negative")
	case o.PollInterval <= 0 || o.QueryTimeout <= 0:
		return o, fmt.Errorf("--ual-poll and --ual-query-timeout must be positive")
	case o.PageSize < 1:
		return o, fmt.Errorf("--ual-page-size must be positive")
	case o.RecordLimit < 1 || o.MaxQueries < 1:
		return o, fmt.Errorf("--ual-record-limit and --ual-max-queries must be positive")
	}
	return o, nil
}

func clean(l []string) []string {
	var out []string
	for _, s := range l {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
