// Package progress tells the user, while a collection runs, where each source
// stands: percent of its pages, records, sub-windows, elapsed time, the time
// left at the tenant's budget, and what it is waiting for (the throttling
// budget, an audit log query running, a Retry-After, a retry after an error).
//
// A Tracker receives what the collectors report (collect.Reporter) and the
// Graph client's waits (collect.Client.OnWait) and turns them into Events,
// rendered as one self-updating line per source on a terminal, as plain
// newline-terminated lines otherwise, or as JSON Lines for wrappers (the
// schema is in docs/cli.md, "Progress").
package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/msg"
	"golang.org/x/term"
)

// Mode chooses how progress is shown.
type Mode string

// The modes --progress accepts.
const (
	Auto Mode = "auto" // Text, self-updating when the writer is a terminal
	Text Mode = "text" // plain newline-terminated lines
	JSON Mode = "json" // one Event a line
	None Mode = "none" // nothing
)

// ParseMode reads a --progress value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Auto, Text, JSON, None:
		return m, nil
	}
	return "", fmt.Errorf("use auto, text, json or none")
}

// Set implements pflag.Value, for --progress.
func (m *Mode) Set(s string) error {
	v, err := ParseMode(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// String implements pflag.Value.
func (m *Mode) String() string {
	if *m == "" {
		return string(Auto)
	}
	return string(*m)
}

// Type implements pflag.Value.
func (m *Mode) Type() string { return "auto|text|json|none" }

// Event kinds.
const (
	EventEstimate = "estimate" // the first page is in: what the whole source will take
	EventPage     = "page"     // a page was read
	EventWait     = "wait"     // the source waits (Waiting says for what)
	EventDone     = "done"     // the source finished
)

// Event is one progress report about one source. With --progress json each
// is written as one JSON object a line; the fields are documented in
// docs/cli.md.
type Event struct {
	Time        string  `json:"time"`  // UTC RFC 3339
	Event       string  `json:"event"` // estimate, page, wait or done
	Source      string  `json:"source"`
	Records     int64   `json:"records"` // written so far
	Pages       int64   `json:"pages"`   // read so far
	WindowsDone int     `json:"windows_done,omitempty"`
	Windows     int     `json:"windows,omitempty"` // sub-windows planned (grows when one is cut)
	ElapsedS    float64 `json:"elapsed_s"`
	// Set once the first page is in (the estimate, see collect.Estimate).
	EstRecords int64    `json:"estimated_records,omitempty"`
	EstPages   int64    `json:"estimated_pages,omitempty"`
	Budget     string   `json:"budget,omitempty"` // requests/period the source is paced by
	EstS       *float64 `json:"estimated_s,omitempty"`
	Percent    *float64 `json:"percent,omitempty"` // of the estimated pages; 100 when done
	ETAS       *float64 `json:"eta_s,omitempty"`
	// Set while the source waits.
	Waiting string  `json:"waiting,omitempty"` // throttling budget, audit query running, Retry-After, retry after an error: ...
	WaitS   float64 `json:"wait_s,omitempty"`
}

type state struct {
	name           string
	start          time.Time
	records, pages int64
	done, windows  int
	est            *collect.Estimate
	estimates      int // scopes estimated
	waiting        string
	waitUntil      time.Time
	finished       bool
	counted        bool // had pages or an estimate (a real source, not a lookup)
	lastLine       time.Time
}

// Tracker receives a collection's progress and renders it. It implements
// collect.Reporter; its methods are safe for concurrent use.
type Tracker struct {
	w     io.Writer
	mode  Mode
	tty   bool
	now   func() time.Time
	every time.Duration // plain text: at most one line a source this often

	mu      sync.Mutex
	sources map[string]*state
	order   []string
	drawn   int // lines of the live block on a terminal
	stop    chan struct{}
	once    sync.Once
}

// New returns a Tracker writing to w in mode (Auto: a self-updating block on
// a terminal, plain lines otherwise).
func New(w io.Writer, mode Mode) *Tracker {
	t := &Tracker{w: w, mode: mode, now: time.Now, every: 5 * time.Second, sources: map[string]*state{}, stop: make(chan struct{})}
	if mode == "" {
		t.mode = Auto
	}
	if t.mode == Auto {
		t.mode = Text
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			t.tty = true
			go t.loop()
		}
	}
	return t
}

func (t *Tracker) get(source string) *state {
	s := t.sources[source]
	if s == nil || s.finished {
		s = &state{name: source, start: t.now()}
		s.lastLine = s.start
		t.sources[source] = s
		t.order = append(t.order, source)
	}
	return s
}

// Add implements collect.Progress.
func (t *Tracker) Add(source string, records, pages int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.get(source)
	s.records += int64(records)
	s.pages += int64(pages)
	if pages > 0 {
		s.counted = true
		s.waiting = ""
		t.emit(s, EventPage)
	}
}

// Estimated implements collect.Reporter: the estimate from the first page.
// Estimates of a source's further scopes (other users) add to it.
func (t *Tracker) Estimated(source string, e collect.Estimate) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.get(source)
	s.counted = true
	if s.est != nil {
		e.Records += s.est.Records
		e.Pages += s.est.Pages
		e.PagesLeft += s.est.PagesLeft
		e.Duration += s.est.Duration
	}
	s.est = &e
	s.estimates++
	t.emit(s, EventEstimate)
}

// Windows implements collect.Reporter.
func (t *Tracker) Windows(source string, done, total int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.get(source)
	s.done, s.windows = done, total
}

// Waiting implements collect.Reporter (and is what SetClient hands the
// client): source waits d for reason.
func (t *Tracker) Waiting(source, reason string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.get(source)
	s.waiting, s.waitUntil = reason, t.now().Add(d)
	t.emit(s, EventWait)
}

// SetClient has the client report its waits (throttling budget,
// Retry-After, retries) to t.
func (t *Tracker) SetClient(c *collect.Client) { c.OnWait(t.Waiting) }

// Flush ends every source still running (the pipeline calls it after each
// source) and leaves the terminal on a clean line for the log.
func (t *Tracker) Flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, name := range t.order {
		s := t.sources[name]
		if s.finished {
			continue
		}
		s.finished = true
		if s.counted {
			t.emit(s, EventDone)
		}
	}
	t.order = t.order[:0]
	t.sources = map[string]*state{}
	t.clear()
}

// Stop ends the display: running sources are reported done.
func (t *Tracker) Stop() {
	t.once.Do(func() { close(t.stop) })
	t.Flush()
}

func (t *Tracker) loop() {
	tk := time.NewTicker(500 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			t.mu.Lock()
			t.redraw()
			t.mu.Unlock()
		}
	}
}

// event builds s's Event at this instant.
func (t *Tracker) event(s *state, kind string) Event {
	now := t.now()
	el := now.Sub(s.start)
	ev := Event{Time: now.UTC().Format(time.RFC3339), Event: kind, Source: s.name, Records: s.records, Pages: s.pages,
		WindowsDone: s.done, Windows: s.windows, ElapsedS: secs(el)}
	if s.est != nil {
		ev.EstRecords, ev.EstPages, ev.Budget = s.est.Records, s.est.Pages, s.est.Budget.String()
		ev.EstS = ptr(secs(s.est.Duration))
		pct, eta := Remaining(*s.est, s.pages, el)
		ev.Percent, ev.ETAS = ptr(pct), ptr(secs(eta))
	}
	if kind == EventDone {
		ev.Percent, ev.ETAS = ptr(100), ptr(0)
	}
	if s.waiting != "" {
		if left := s.waitUntil.Sub(now); left > 0 {
			ev.Waiting, ev.WaitS = s.waiting, secs(left)
		}
	}
	return ev
}

// Remaining is the percent of e's pages read and the time left: the pages
// left at the budget's rate, or at the rate seen so far when that is slower.
// When more pages came than estimated, one more page is assumed left.
func Remaining(e collect.Estimate, pages int64, elapsed time.Duration) (percent float64, eta time.Duration) {
	total := max(e.Pages, pages+1)
	per := e.Budget.Interval()
	if pages > 0 {
		per = max(per, elapsed/time.Duration(pages))
	}
	percent = float64(int64(1000*pages/total)) / 10
	return percent, time.Duration(total-pages) * per
}

func secs(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

func ptr(f float64) *float64 { return &f }

// emit shows s's event; called with t.mu held.
func (t *Tracker) emit(s *state, kind string) {
	switch t.mode {
	case None:
		return
	case JSON:
		b, _ := json.Marshal(t.event(s, kind))
		t.w.Write(append(b, '\n'))
		return
	}
	ev := t.event(s, kind)
	if kind == EventEstimate && s.estimates > 1 {
		return // a further scope's estimate: the running line shows the sum
	}
	if kind == EventEstimate || kind == EventDone {
		t.clear()
		fmt.Fprintln(t.w, Line(ev))
		s.lastLine = t.now()
		return
	}
	if t.tty {
		return // the loop redraws
	}
	// Plain lines: at once for a wait other than the budget's (so a stall
	// is explained), otherwise at most one line a source every few seconds.
	urgent := kind == EventWait && s.waiting != collect.WaitBudget
	if urgent || t.now().Sub(s.lastLine) >= t.every {
		fmt.Fprintln(t.w, Line(ev))
		s.lastLine = t.now()
	}
}

// clear erases the live block on a terminal.
func (t *Tracker) clear() {
	if t.tty && t.drawn > 0 {
		fmt.Fprintf(t.w, "\033[%dA\r\033[J", t.drawn)
		t.drawn = 0
	}
}

// redraw rewrites the live block: one line per running source.
func (t *Tracker) redraw() {
	t.clear()
	for _, name := range t.order {
		s := t.sources[name]
		if s.finished || (!s.counted && !s.waitUntil.After(t.now())) {
			continue // done, or a lookup that no longer waits
		}
		fmt.Fprintf(t.w, "\033[K%s\n", Line(t.event(s, EventPage)))
		t.drawn++
	}
}

// Line renders ev as one line of text, in the locale's language (the JSON
// events stay in English: they are for programs).
func Line(ev Event) string {
	var b strings.Builder
	b.WriteString(ev.Source)
	b.WriteString(": ")
	switch ev.Event {
	case EventEstimate:
		b.WriteString(msg.T("progress.estimate", count(ev.EstRecords), count(ev.EstPages)))
		if ev.Budget != "" && ev.Budget != "unlimited" && ev.EstS != nil {
			b.WriteString(msg.T("progress.estimate-budget", ev.Budget, dur(*ev.EstS)))
		}
		return b.String()
	case EventDone:
		b.WriteString(msg.T("progress.done", count(ev.Records), count(ev.Pages), dur(ev.ElapsedS)))
		return b.String()
	}
	if ev.Pages == 0 && ev.Records == 0 && ev.Waiting != "" {
		b.WriteString(msg.T("progress.waiting", dur(ev.WaitS), waiting(ev.Waiting))) // a lookup before the collection
		return b.String()
	}
	var parts []string
	if ev.Percent != nil {
		parts = append(parts, msg.T("progress.percent", *ev.Percent, count(ev.Pages), count(max(ev.EstPages, ev.Pages+1))))
	} else {
		parts = append(parts, msg.T("progress.pages", count(ev.Pages)))
	}
	parts = append(parts, msg.T("progress.records", count(ev.Records)))
	if ev.Windows > 1 {
		parts = append(parts, msg.T("progress.window", min(ev.WindowsDone+1, ev.Windows), ev.Windows))
	}
	parts = append(parts, msg.T("progress.elapsed", dur(ev.ElapsedS)))
	if ev.ETAS != nil {
		parts = append(parts, msg.T("progress.eta", dur(*ev.ETAS)))
	}
	if ev.Waiting != "" {
		parts = append(parts, msg.T("progress.waiting", dur(ev.WaitS), waiting(ev.Waiting)))
	}
	b.WriteString(strings.Join(parts, ", "))
	return b.String()
}

// waiting is a wait reason (collect.Wait*, possibly followed by ": detail")
// in the locale's language; the detail (an error) stays as it is.
func waiting(w string) string {
	for key, reason := range map[string]string{"budget": collect.WaitBudget, "retry-after": collect.WaitRetryAfter, "retry": collect.WaitRetry, "query": collect.WaitQuery} {
		if w == reason || strings.HasPrefix(w, reason+": ") {
			return msg.T("progress.wait."+key) + strings.TrimPrefix(w, reason)
		}
	}
	return w
}

// dur renders seconds as 1h2m3s, 4m5s, 6s or 0.4s.
func dur(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d < time.Second {
		return fmt.Sprintf("%.1fs", s)
	}
	return d.Round(time.Second).String()
}

// count renders n with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
