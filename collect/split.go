package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// Splitting says how a requested window is cut into sub-windows, the unit
// of accounting in the manifest.
//
// A window that spans more than one sub-window is first asked whole, for
// one page (collectSplit): when that page holds every record, the window
// is one sub-window and cost one request; otherwise the page stands as the
// newest sub-window, cut at its oldest complete instant, and the rest is
// cut as below.
//
// The window is first cut at multiples of Every counted from the Unix epoch
// (with 24h: at UTC midnights), and the sub-windows are collected oldest
// first, so the records closest to leaving the tenant's retention are read
// before they can age out; within a sub-window records stay in Graph's
// order (newest first). A sub-window that needs more
// than MaxPages pages (of any of its queries) is cut where it stands: the
// part already read, [t, end) with t the oldest instant read completely, is
// recorded as a sub-window of its own, and [start, t) is queried anew, and
// cut again if it is still too large. Records at t that were read before
// the cut are discarded and read again with the rest, so nothing is counted
// twice or missed at a boundary (every sub-window is half-open).
type Splitting struct {
	Every    time.Duration // initial sub-window length; 0 = the whole window
	MaxPages int           // pages per sub-window before it is cut; 0 = no limit
}

// DefaultSplitting is grab's default: weekly sub-windows, cut after 50
// pages (50,000 records at the maximum page size).
var DefaultSplitting = Splitting{Every: 7 * 24 * time.Hour, MaxPages: 50}

// Windows cuts w at multiples of s.Every, oldest first (for sources with
// their own query API, such as the Log Analytics workspace).
func (s Splitting) Windows(w Window) []Window { return s.windows(w) }

// windows cuts w at multiples of s.Every, oldest first.
func (s Splitting) windows(w Window) []Window {
	if w.Empty() {
		return nil
	}
	if s.Every <= 0 {
		return []Window{w}
	}
	var out []Window
	end := w.End
	for end.After(w.Start) {
		// The largest multiple of Every strictly before end.
		ns := end.UnixNano()
		step := s.Every.Nanoseconds()
		b := ns - ((ns%step)+step)%step
		if b == ns {
			b -= step
		}
		start := time.Unix(0, b).UTC()
		if start.Before(w.Start) {
			start = w.Start
		}
		out = append(out, Window{Start: start, End: end})
		end = start
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// stream is one paged query of a merged collection: one side of a user's
// audit trail, or the only query of a sign-in kind.
type stream struct {
	side string                                       // CSV "Matched" value for audits; "" otherwise
	url  func(w Window) (u, filter string, err error) // the first page's URL for a sub-window
}

// mergeSpec is one collection over a window: its queries' records are
// merged newest first and de-duplicated by record id.
type mergeSpec struct {
	class, source, scope string
	timeProp             string // createdDateTime or activityDateTime
	streams              []stream
}

// SideNote is the note key carrying which side of a user's audit trail a
// record matched ("initiated", "target" or "both").
const SideNote = "side"

// collectSplit collects w for spec, sub-window by sub-window, oldest first
// (the older part of a cut sub-window comes next).
// It returns one manifest entry per sub-window; only fatal errors are
// returned as errors. A licence or permission refusal ends the collection:
// the rest of the window is recorded with that status.
func collectSplit(ctx context.Context, c *Client, spec mergeSpec, w Window, split Splitting, sink Sink, prog Progress) ([]manifest.SubWindow, error) {
	queue := split.windows(w)
	est := &estimator{prog: prog, source: spec.source, whole: w, budget: c.Budget(spec.class), timeProp: spec.timeProp, windows: len(queue)}
	// A window of several sub-windows is first asked whole, for one page:
	// a query that fits in it (a kind with few records, an app's sign-ins)
	// costs one request instead of one per sub-window. When there is more,
	// that page (the newest records) stands as a sub-window of its own, cut
	// at its oldest complete instant, and the rest is cut as usual and read
	// oldest first.
	whole := len(queue) > 1
	if whole {
		queue = []Window{w}
	}
	total, done := len(queue), 0
	ReportWindows(prog, spec.source, done, total)
	var out []manifest.SubWindow
	for len(queue) > 0 {
		sub := queue[0]
		queue = queue[1:]
		est.later = len(queue) > 0
		maxPages := split.MaxPages
		if whole {
			maxPages = 1
		}
		sws, rest, err := runWindow(ctx, c, spec, sub, maxPages, sink, prog, est)
		if whole && rest != nil && err == nil {
			whole = false
			sws[len(sws)-1].Reason = fmt.Sprintf("the whole window's first page, cut at %s; the older part is read in sub-windows, oldest first", FormatTime(rest.End))
			older := split.windows(*rest)
			out = append(out, sws...)
			queue = append(older, queue...)
			total += len(older)
			done++
			ReportWindows(prog, spec.source, done, total)
			continue
		}
		if whole && err == nil && rest == nil {
			// The whole window's first page failed (not a refusal of the
			// licence or permission) before any record of the failed part
			// was written: its sub-windows are asked one by one, so one
			// failure costs one sub-window, not the window. (A merged
			// collection whose one side was refused wrote the other side's
			// records: it stands as it is.)
			if last := sws[len(sws)-1]; last.Status != manifest.StatusCollected && last.Status != manifest.StatusUnavailable && last.Records == 0 {
				whole = false
				out = append(out, sws[:len(sws)-1]...)
				older := split.windows(Window{Start: sub.Start, End: parseManifestTime(last.Window.End, sub.End)})
				queue = append(older, queue...)
				total += len(older) - 1
				ReportWindows(prog, spec.source, done, total)
				continue
			}
		}
		whole = false
		out = append(out, sws...)
		if err != nil {
			// A fatal error: the sub-windows not reached are on record as
			// not collected, with why the run stopped.
			_, reason := StopReason(err)
			for _, q := range queue {
				out = append(out, manifest.SubWindow{Window: manifest.NewWindow(q.Start, q.End), Scope: spec.scope,
					Status: manifest.StatusFailed, Reason: reason})
			}
			return out, err
		}
		if rest != nil {
			queue = append([]Window{*rest}, queue...)
			total++ // the cut sub-window's older part is one more
			ReportWindows(prog, spec.source, done, total)
			continue
		}
		done++
		ReportWindows(prog, spec.source, done, total)
		if last := sws[len(sws)-1]; last.Status == manifest.StatusUnavailable {
			if len(queue) > 0 {
				rest := Window{Start: sub.End, End: w.End}
				out = append(out, manifest.SubWindow{Window: manifest.NewWindow(rest.Start, rest.End), Scope: spec.scope,
					Status: last.Status, Reason: last.Reason + " (not asked again for the older sub-windows)"})
			}
			break
		}
	}
	return out, nil
}

// estimator reports a collection's estimate once, from the first page it
// reads (collect.EstimateFirstPage).
type estimator struct {
	prog     Progress
	source   string
	whole    Window
	budget   Budget
	timeProp string
	windows  int
	later    bool // sub-windows after the current one
	done     bool
}

// first judges the collection from the first page of sub-window sub.
func (e *estimator) first(sub Window, recs []json.RawMessage, next string) {
	if e == nil || e.done {
		return
	}
	e.done = true
	covered := sub.End.Sub(sub.Start)
	if next != "" && len(recs) > 0 {
		if t, _, ok := recordTick(recs[len(recs)-1], e.timeProp); ok {
			covered = sub.End.Sub(fromTick(t))
		}
	}
	whole := e.whole.End.Sub(e.whole.Start)
	ReportEstimate(e.prog, e.source, EstimateFirstPage(len(recs), covered, whole, 0, e.windows, next != "" || e.later, e.budget))
}

// pager reads one query page by page. A fetcher goroutine sends each
// page's GET as soon as the page before it has come and its nextLink is
// known, up to pagesAhead pages ahead of the records being written (and
// never past MaxPages while the sub-window may still be cut), so the
// requests go when the budget allows them, whatever the writing costs.
type pager struct {
	walk     *pageWalk // the fetcher's while it runs: each page's GET, parse and loop check
	label    string
	next     string // the nextLink after the last page taken ("" at the end)
	buf      []json.RawMessage
	pages    int // pages taken
	lastTick int64
	started  bool
	feed     chan fetched  // pages fetched ahead, in order; nil: no fetcher
	quit     chan struct{} // closed to stop the fetcher
	refused  string        // why the service refused this query (the others go on)
}

func newPager(c *Client, class, source, label, first string) *pager {
	return &pager{walk: newPageWalk(c, class, source, first), label: label, next: first}
}

// pagesAhead is how many fetched pages may wait for the writing, beside
// the one being fetched.
const pagesAhead = 2

type fetched struct {
	page *Page
	err  error
}

// start runs a fetcher for the pages after the last one taken, up to page
// number upto (0: to the end). The walk goes on from there: the first
// page is the query the tool built, every later one the service's
// nextLink, followed as given.
func (p *pager) start(ctx context.Context, upto int) {
	feed, quit := make(chan fetched, pagesAhead), make(chan struct{})
	p.feed, p.quit = feed, quit
	w := p.walk
	w.next, w.n = p.next, p.pages
	go func() {
		defer close(feed)
		for w.next != "" && (upto <= 0 || w.n < upto) {
			var f fetched
			f.page, f.err = w.fetch(ctx)
			if f.err == nil {
				f.err = w.follow(f.page)
			}
			select {
			case feed <- f:
			case <-quit:
				return
			}
			if f.err != nil {
				return
			}
		}
	}()
}

// fill takes the next page from the fetcher, starting one (to page upto,
// 0: to the end) when none runs or the last one stopped at its limit.
func (p *pager) fill(ctx context.Context, upto int) error {
	for {
		if p.feed == nil {
			p.start(ctx, upto)
		}
		f, ok := <-p.feed
		if !ok { // the fetcher stopped at its limit; more pages are wanted now
			p.feed = nil
			continue
		}
		if f.err != nil {
			p.stop()
			return f.err
		}
		p.pages++
		p.buf = f.page.Records
		p.next = f.page.NextLink
		return nil
	}
}

// stop ends the fetcher, abandoning the pages fetched ahead (the
// sub-window was cut or failed, or the query is done).
func (p *pager) stop() {
	if p.feed != nil {
		close(p.quit)
		for range p.feed { // the fetcher ends at once
		}
		p.feed = nil
	}
}

// recordTick reads a record's time (100 ns ticks since the epoch) and id.
func recordTick(rec []byte, prop string) (int64, string, bool) {
	r := gjson.GetManyBytes(rec, prop, "id")
	t, err := time.Parse(time.RFC3339Nano, r[0].String())
	if err != nil {
		return 0, r[1].String(), false
	}
	return t.UnixNano() / int64(Tick), r[1].String(), true
}

type item struct {
	rec  []byte
	id   string
	side string
}

// runWindow collects one sub-window. It returns the sub-windows accounted
// (one, or two when it failed part way), and the remainder to query anew
// when the sub-window was cut at MaxPages.
func runWindow(parent context.Context, c *Client, spec mergeSpec, w Window, maxPages int, sink Sink, prog Progress, est *estimator) ([]manifest.SubWindow, *Window, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var filters []string
	pagers := make([]*pager, len(spec.streams))
	for i, st := range spec.streams {
		u, f, err := st.url(w)
		if err != nil {
			return nil, nil, &FatalError{Err: err}
		}
		filters = append(filters, f)
		pagers[i] = newPager(c, spec.class, spec.source, st.side, u)
	}
	defer func() {
		cancel()
		for _, p := range pagers {
			p.stop()
		}
	}()
	sw := manifest.SubWindow{Window: manifest.NewWindow(w.Start, w.End), Scope: spec.scope, Query: strings.Join(filters, " | "), Status: manifest.StatusCollected}
	pages := func() int64 {
		var n int64
		for _, p := range pagers {
			n += int64(p.pages)
		}
		return n
	}
	noted, _ := sink.(NotedSink)
	var (
		emitted   bool
		lastGroup int64 // tick of the oldest group written: every record at or after it is written
		noCut     bool
		note      string
	)
	// Records without notes go to a record.BatchSink in batches (its CSV
	// cells are computed beside the writing); emitted and lastGroup then
	// count them as written, and fall back to the last batch written when
	// a batch fails.
	var batch *batchWriter
	if bs, ok := sink.(record.BatchSink); ok {
		batch = &batchWriter{sink: bs}
	}
	flush := func() error {
		if batch == nil {
			return nil
		}
		if err := batch.flush(); err != nil {
			emitted, lastGroup, sw.Records = batch.emitted, batch.lastGroup, batch.records
			return fmt.Errorf("%s: writing record: %w", spec.source, err)
		}
		batch.emitted, batch.lastGroup, batch.records = emitted, lastGroup, sw.Records
		return nil
	}
	// cutAt ends the sub-window at the last complete instant.
	cutAt := func() ([]manifest.SubWindow, *Window, error) {
		t := fromTick(lastGroup)
		sw.Window = manifest.NewWindow(t, w.End)
		sw.Pages = pages()
		sw.Reason = fmt.Sprintf("cut after %d pages at %s; the older part is its own sub-window", maxPages, FormatTime(t))
		return []manifest.SubWindow{sw}, &Window{Start: w.Start, End: t}, nil
	}
	// fail accounts a failure: what was written stands as collected, the
	// rest of the sub-window is recorded with the failure.
	fail := func(err error) ([]manifest.SubWindow, *Window, error) {
		status, reason, fatal := Classify(err)
		sw.Pages = pages()
		if fatal {
			// The run stops here, at a page boundary: what was written
			// stands as collected down to the last complete instant, the
			// rest of the sub-window is on record with why it stopped.
			_, reason = StopReason(err)
			status = manifest.StatusFailed
			err = &FatalError{Err: err}
		}
		if !emitted {
			sw.Status, sw.Reason = status, reason
			if fatal {
				return []manifest.SubWindow{sw}, nil, err
			}
			return []manifest.SubWindow{sw}, nil, nil
		}
		t := fromTick(lastGroup)
		done := sw
		done.Window = manifest.NewWindow(t, w.End)
		failed := manifest.SubWindow{Window: manifest.NewWindow(w.Start, t), Scope: spec.scope, Query: sw.Query, Status: status, Reason: reason}
		if fatal {
			return []manifest.SubWindow{done, failed}, nil, err
		}
		return []manifest.SubWindow{done, failed}, nil, nil
	}
	// ensure makes sure p has a record buffered unless its query is done.
	// cut is true when the sub-window must be cut first.
	ensure := func(p *pager) (cut bool, err error) {
		for len(p.buf) == 0 && p.next != "" {
			if maxPages > 0 && p.pages >= maxPages && !noCut {
				if emitted {
					return true, nil
				}
				noCut = true // one instant holds more than MaxPages pages: read on
				note = fmt.Sprintf("more than %d pages share one instant; not cut", maxPages)
			}
			upto := maxPages
			if noCut {
				upto = 0
			}
			if err := p.fill(ctx, upto); err != nil {
				// One side of a merged collection refused outright (400 on
				// its first page): record it and go on with the others.
				var ge *GraphError
				if len(pagers) > 1 && p.pages == 0 && errors.As(err, &ge) && ge.Status == 400 {
					_, reason, _ := Classify(err)
					p.refused, p.next = reason, ""
					return false, nil
				}
				return false, err
			}
			est.first(w, p.buf, p.next)
			if prog != nil {
				prog.Add(spec.source, 0, 1)
			}
			KillPoint(StepPage)
		}
		return false, nil
	}
	for {
		// The newest head among the queries.
		head, have := int64(0), false
		for _, p := range pagers {
			cut, err := ensure(p)
			if cut {
				if err := flush(); err != nil {
					return fail(&FatalError{Err: err})
				}
				return cutAt()
			}
			if err != nil {
				if ferr := flush(); ferr != nil {
					return fail(&FatalError{Err: ferr})
				}
				return fail(err)
			}
			if len(p.buf) == 0 {
				continue
			}
			t, _, ok := recordTick(p.buf[0], spec.timeProp)
			if !ok {
				t, noCut, note = p.lastTick, true, "a record without a readable "+spec.timeProp+"; not cut"
			}
			if !have || t > head {
				head, have = t, true
			}
		}
		if !have {
			break
		}
		// Every record at that instant, from every query.
		var group []item
		for _, p := range pagers {
			for {
				cut, err := ensure(p)
				if cut {
					if err := flush(); err != nil {
						return fail(&FatalError{Err: err})
					}
					return cutAt()
				}
				if err != nil {
					if ferr := flush(); ferr != nil {
						return fail(&FatalError{Err: ferr})
					}
					return fail(err)
				}
				if len(p.buf) == 0 {
					break
				}
				t, id, ok := recordTick(p.buf[0], spec.timeProp)
				if !ok {
					t = head
				}
				if p.started && t > p.lastTick {
					noCut, note = true, "Graph returned records out of time order; not cut"
				}
				if t < head {
					break
				}
				p.started, p.lastTick = true, t
				group = append(group, item{rec: p.buf[0], id: id, side: p.label})
				p.buf = p.buf[1:]
			}
		}
		n, err := writeGroup(group, sink, noted, batch)
		if err != nil {
			return fail(&FatalError{Err: fmt.Errorf("%s: writing record: %w", spec.source, err)})
		}
		sw.Records += int64(n)
		if prog != nil {
			prog.Add(spec.source, n, 0)
		}
		emitted, lastGroup = true, head
		if batch.full() {
			if err := flush(); err != nil {
				return fail(&FatalError{Err: err})
			}
		}
	}
	if err := flush(); err != nil {
		return fail(&FatalError{Err: err})
	}
	sw.Pages = pages()
	if note != "" {
		sw.Reason = note
	}
	for _, p := range pagers {
		if p.refused != "" {
			sw.Status = manifest.StatusFailed
			sw.Reason = "the " + p.label + " side's query was refused (" + p.refused + "); the other side's records are collected"
		}
	}
	return []manifest.SubWindow{sw}, nil, nil
}

// writeGroup writes the records of one instant, each id once, noting which
// sides matched it. Records without a side go to batch when there is one.
func writeGroup(group []item, sink Sink, noted NotedSink, batch *batchWriter) (int, error) {
	sides := map[string]string{}
	var order []item
	for _, it := range group {
		s, seen := sides[it.id]
		switch {
		case !seen || it.id == "":
			order = append(order, it)
			sides[it.id] = it.side
		case s != it.side:
			sides[it.id] = "both"
		}
	}
	for _, it := range order {
		var err error
		switch {
		case noted != nil && it.side != "":
			if err = batch.flush(); err == nil { // in order with the batched records
				err = noted.WriteNoted(it.rec, map[string]string{SideNote: sides[it.id]})
			}
		case batch != nil:
			batch.recs = append(batch.recs, it.rec)
		default:
			err = sink.Write(it.rec)
		}
		if err != nil {
			return 0, err
		}
	}
	return len(order), nil
}

// writeBatch is how many records a batchWriter gathers before it writes.
const writeBatch = 256

// batchWriter gathers records for a record.BatchSink; emitted, lastGroup
// and records are runWindow's state as of the last batch written.
type batchWriter struct {
	sink      record.BatchSink
	recs      [][]byte
	emitted   bool
	lastGroup int64
	records   int64
}

func (b *batchWriter) full() bool { return b != nil && len(b.recs) >= writeBatch }

// flush writes the gathered records.
func (b *batchWriter) flush() error {
	if b == nil || len(b.recs) == 0 {
		return nil
	}
	err := b.sink.WriteBatch(b.recs)
	clear(b.recs)
	b.recs = b.recs[:0]
	return err
}

// parseManifestTime reads a time the manifest was given by FormatTime;
// def when it does not read.
func parseManifestTime(s string, def time.Time) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return def
	}
	return t
}

func fromTick(t int64) time.Time { return time.Unix(0, t*int64(Tick)).UTC() }

// NotedSink is a Sink that also takes notes for a record's CSV row (e.g.
// which side of the audit trail matched); the JSON Lines record stays as
// Graph sent it.
type NotedSink = record.NotedSink
