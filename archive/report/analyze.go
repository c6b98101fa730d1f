package report

import (
	"bufio"
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/diff"
	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/tidwall/gjson"
)

// Limits that keep the page small and the memory bounded whatever the size
// of the bundle. What they cut is said on the page.
const (
	// TimelineOrdinary is how many events without a highlight the timeline
	// shows; beyond it, the newest are kept.
	TimelineOrdinary = 100000
	// TimelineHighlights caps highlighted events kept for the timeline.
	TimelineHighlights = 2000
	// TopN is how many rows the IP, country and app tables show.
	TopN = 50
	// maxKeys caps each per-IP, per-user/IP and per-sender map; keys beyond
	// it are counted but not tracked (the page says so).
	maxKeys = 200000
	// maxLine is the longest record line read (a longer one is counted as
	// unreadable); Graph records are a few kilobytes.
	maxLine = 16 << 20
	// burstPerHour is how many messages one sender must send within one UTC
	// hour for a mail burst: a phishing run from a taken-over mailbox sends
	// a few dozen (the simulated one, 24), a person rarely 20.
	burstPerHour = 20
	// failuresBeforeSuccess and failWindow: that many failed sign-ins from
	// one IP for one user within failWindow before a success.
	failuresBeforeSuccess = 3
	failWindow            = time.Hour
	// baselineMax: an IP or country is new for a user when the user's first
	// successful sign-in from it comes later than min(baselineMax, a quarter
	// of the user's span) after the user's first sign-in in the bundle.
	baselineMax = 48 * time.Hour
)

// Event is one record as the page shows it. The values that repeat from
// record to record are in three small structs (who, where, what), each kept
// once for every event that has the same ones; an event itself holds only
// what is its own, so the up to TimelineOrdinary events the timeline keeps
// cost about 190 bytes each, not 400.
type Event struct {
	Time   time.Time
	Line   int64  // 1-based line in File
	ID     string // the record's id
	Detail string
	*Who
	*Where
	*What
	Fwd   []string // mail forwarding targets a record sets (inbox rules)
	Flags []string
}

// Who, Where and What are the values of an event that many events share.
// Adapters fill them while a record is read; once the analyzer keeps the
// event (own) they are shared and never written again.
type Who struct {
	User    string // as shown
	UserKey string // stable identity (object id) for the rules
	Tenant  string // the home tenant a record names, when it names one
}

// Where: see Who.
type Where struct {
	IP      string
	Country string
	City    string
}

// What: see Who.
type What struct {
	Class  string // ClassSignIn, ...
	File   string // bundle-relative path of the .jsonl
	App    string
	AppID  string // the application's id, when the record names it
	Op     string
	Result string // ResultSuccess, ResultFailure, ResultInterrupted or ""
	Code   string // the sign-in's error code (status.errorCode), "" when not a sign-in
	UA     string // user agent, or browser and operating system
	Note   string // set on synthetic events (mail bursts): a count
	// Copy: a sign-in from a long-retention copy (workspace, diagnostic
	// archive), most likely also in Graph's sign-in files: shown, but not
	// fed to the per-user sign-in rules and groups.
	Copy bool
}

// newEvent returns an event of class read from line of file, whose shared
// values adapters may fill (they are the analyzer's scratch until own).
func (a *Analyzer) newEvent(class, file string, line int64) *Event {
	s := &a.scratch
	s.who, s.where, s.what = Who{}, Where{}, What{Class: class, File: file}
	return &Event{Line: line, Who: &s.who, Where: &s.where, What: &s.what}
}

// shared returns the kept copy of v from m, or a new one whose strings
// intern copies (kept in m while m holds fewer than maxShared).
func shared[T comparable](m map[T]*T, v *T, intern func(*T)) *T {
	if c, ok := m[*v]; ok {
		return c
	}
	c := new(T)
	*c = *v
	intern(c)
	if len(m) < maxShared {
		m[*c] = c
	}
	return c
}

func (e *Event) flag(f string) {
	for _, x := range e.Flags {
		if x == f {
			return
		}
	}
	e.Flags = append(e.Flags, f)
}

// own copies the strings out of the record line, so that keeping an event
// (or a map key made of its fields) does not keep the whole line alive.
// Values that repeat are kept once: the event's Who, Where and What are
// shared with every earlier event that had the same ones (up to maxShared
// distinct of each), and each string is interned (up to maxInterned), which
// is most of the memory of a 100,000-event timeline.
func (a *Analyzer) own(e *Event) {
	e.ID = strings.Clone(e.ID)
	e.Detail = a.intern(e.Detail)
	for i := range e.Fwd {
		e.Fwd[i] = a.intern(e.Fwd[i])
	}
	e.Who = shared(a.who, e.Who, func(c *Who) {
		c.User, c.UserKey, c.Tenant = a.intern(c.User), a.intern(c.UserKey), a.intern(c.Tenant)
	})
	e.Where = shared(a.where, e.Where, func(c *Where) {
		c.IP, c.Country, c.City = a.intern(c.IP), a.intern(c.Country), a.intern(c.City)
	})
	e.What = shared(a.what, e.What, func(c *What) {
		for _, p := range []*string{&c.Class, &c.File, &c.App, &c.AppID, &c.Op, &c.Result, &c.Code, &c.UA, &c.Note} {
			*p = a.intern(*p)
		}
	})
}

// maxInterned bounds the interned strings and maxShared each map of shared
// values; past them, values are copied (the page is the same, only larger
// in memory).
const (
	maxInterned = 200000
	maxShared   = 50000
)

func (a *Analyzer) intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := a.strs[s]; ok {
		return v
	}
	c := strings.Clone(s)
	if len(a.strs) < maxInterned {
		a.strs[c] = c
	}
	return c
}

// key identifies an event: its file and line (a mail burst: its sender and hour).
func (e *Event) key() string {
	if e.Note != "" {
		return fmt.Sprintf("burst:%s:%d", e.User, e.Time.Unix())
	}
	return fmt.Sprintf("%s:%d", e.File, e.Line)
}

// FileStat accounts for one record file the analyzer read.
type FileStat struct {
	Path       string
	Class      string
	LabelKey   string
	LabelArg   string
	Records    int64 // lines read
	Unreadable int64 // lines that are not a JSON object
	Untimed    int64 // records without a readable time
	First      time.Time
	Last       time.Time
}

// GroupStat is one row of the "who and where" tables.
type GroupStat struct {
	Key                          string
	SignIns                      int64
	Success, Failure, Interrupts int64
	First, Last                  time.Time
	Countries, Apps, Users       *topSet
	IPs                          *topSet
	Highlighted                  bool
}

// Analyzer reads record files once, line by line, and keeps only bounded
// summaries: per-hour counts, per-IP/country/app groups, the highlighted
// events and the newest ordinary events. It is not safe for concurrent use.
type Analyzer struct {
	files map[string]*FileStat
	order []string

	hours map[int64]*[nCounts]int64 // hour (Unix seconds) -> counts

	ips, countries, apps map[string]*GroupStat
	droppedIPs           int64 // sign-ins whose IP could not be tracked (maxKeys)

	users    map[string]*userState
	pairs    map[pairKey]*pairState // user and IP
	cpairs   map[pairKey]*pairState // user and country
	dropped  int64                  // sign-ins not tracked by the new-IP rules (maxKeys)
	senders  map[string]int64       // sender + "\x00" + hour -> messages
	mailFile map[string]string      // sender -> file (for the burst events)

	highlights map[string]*Event
	hlOverflow int64
	overflowed map[string]bool
	ordinary   valueHeap // by value: blocks, not 100,000 objects
	total      int64
	byClass    map[string]int64

	finished                              bool
	findings                              []Finding
	findingsFile, findingsOK, findingsBad bool

	// The records findings point at: file -> line -> the line's bytes
	// (captured while the file streams by; nil until then).
	want     map[string]map[int64][]byte
	captured int64 // bytes kept in want

	// Graph activity log requests kept as candidates for FlagGraphInd, by
	// "ip\x00"+IP and "app\x00"+app id (copies.go).
	graphBy                  map[string]*graphKey
	graphStored, graphLost   int64
	graphMatched, graphShown int64

	diff   *diff.Result // diff.json, when it is there and reads
	diffIn bool         // a diff.json is in the bundle

	strs    map[string]string // interned values (own)
	who     map[Who]*Who      // shared event values (own)
	where   map[Where]*Where
	what    map[What]*What
	scratch struct { // the shared values of the record being read
		who   Who
		where Where
		what  What
	}
	inds map[string]*indStat // indicator kind + "\x00" + value
	// indSeen finds an indicator's stat by its value as a record gives it
	// (case kept), without building the lower-case key of inds again.
	indSeen map[indValue]*indStat
	tenants *topSet // home tenants the records name
}

// indStat is what the page says about one indicator.
type indStat struct {
	Kind, Value string
	First, Last time.Time
	Count       int64
	Sources     map[string]bool // event classes and state files it was seen in
}

// Indicator kinds.
const (
	IndIP      = "ip"
	IndUA      = "ua"
	IndApp     = "app"
	IndCountry = "country"
	IndFwd     = "fwd"
)

// maxCapture bounds one captured record and all of them.
const (
	maxCaptureLine  = 8 << 10
	maxCaptureTotal = 4 << 20
)

// Per-hour count slots.
const (
	cSignInOK = iota
	cSignInFail
	cAudit
	cUAL
	cMail
	nCounts
)

type userState struct {
	first time.Time // earliest sign-in of the user
	last  time.Time
}

// pairState is kept per (user, IP) and per (user, country).
type pairState struct {
	firstOK *Event // earliest successful sign-in
	// Failures-then-success, reading newest first: the success seen last and
	// the failures read since within failWindow before it.
	pending *Event
	fails   []*Event
	nfails  int
}

// NewAnalyzer returns an empty Analyzer.
func NewAnalyzer() *Analyzer {
	return &Analyzer{
		files: map[string]*FileStat{}, hours: map[int64]*[nCounts]int64{},
		ips: map[string]*GroupStat{}, countries: map[string]*GroupStat{}, apps: map[string]*GroupStat{},
		users: map[string]*userState{}, pairs: map[pairKey]*pairState{}, cpairs: map[pairKey]*pairState{},
		senders: map[string]int64{}, mailFile: map[string]string{},
		highlights: map[string]*Event{}, byClass: map[string]int64{},
		want: map[string]map[int64][]byte{}, inds: map[string]*indStat{}, indSeen: map[indValue]*indStat{}, tenants: newTopSet(), strs: map[string]string{},
		who: map[Who]*Who{}, where: map[Where]*Where{}, what: map[What]*What{},
	}
}

// inboxRules are the snapshot's inbox rule files: read for the forwarding
// targets they set (indicators), not shown on the timeline.
const inboxRules = "snapshot/users/*/inbox-rules.jsonl"

func isInboxRules(rel string) bool { ok, _ := path.Match(inboxRules, rel); return ok }

// ind counts one sighting of an indicator.
func (a *Analyzer) ind(kind, val, source string, at time.Time) {
	val = strings.TrimSpace(val)
	if val == "" || val == "—" {
		return
	}
	st := a.indSeen[indValue{kind, val}]
	if st == nil {
		k := kind + "\x00" + strings.ToLower(val)
		st = a.inds[k]
		if st == nil {
			if len(a.inds) >= maxKeys {
				return
			}
			st = &indStat{Kind: kind, Value: strings.Clone(val), Sources: map[string]bool{}}
			a.inds[k] = st
		}
		if a.indSeen != nil && len(a.indSeen) < maxKeys { // nil once finish has applied the rules
			a.indSeen[indValue{kind, strings.Clone(val)}] = st
		}
	}
	st.Count++
	if !st.Sources[source] {
		st.Sources[source] = true
	}
	if !at.IsZero() {
		if st.First.IsZero() || at.Before(st.First) {
			st.First = at
		}
		if at.After(st.Last) {
			st.Last = at
		}
	}
}

// WantsFile reports whether Feed reads file: a record file, a findings
// file, an inbox rule file or a file a findings file points into.
func (a *Analyzer) WantsFile(file string) bool {
	return Wants(file) || a.want[file] != nil
}

// missingCaptures lists the files findings point into whose lines were not
// captured (they streamed by before the findings file was read).
func (a *Analyzer) missingCaptures() []string {
	var out []string
	for f, lines := range a.want {
		for _, b := range lines {
			if b == nil {
				out = append(out, f)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Capture reads file only for the lines findings point at (a second pass
// over an archive whose findings came after the records they name).
func (a *Analyzer) Capture(rel string, r io.Reader) error {
	lines := a.want[rel]
	if lines == nil {
		return nil
	}
	return eachLine(r, func(n int64, line []byte) { a.capture(lines, n, line) })
}

func (a *Analyzer) capture(lines map[int64][]byte, n int64, line []byte) {
	b, ok := lines[n]
	if !ok || b != nil {
		return
	}
	if len(line) > maxCaptureLine {
		line = line[:maxCaptureLine]
	}
	if a.captured+int64(len(line)) > maxCaptureTotal {
		lines[n] = []byte{}
		return
	}
	a.captured += int64(len(line))
	lines[n] = bytes.Clone(line)
}

// eachLine calls fn with each line of r (1-based, without its newline).
func eachLine(r io.Reader, fn func(n int64, line []byte)) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var n int64
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) < maxCaptureLine {
				long = append(long, chunk...)
			}
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if len(line) > 0 {
			n++
			fn(n, bytes.TrimRight(line, "\r\n"))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Wants reports whether Feed reads file (a bundle-relative path).
func Wants(file string) bool {
	return adapterFor(file) != nil || isFindings(file) || isInboxRules(file) || isImported(file) || isDiff(file)
}

// Feed reads the record file at rel (bundle-relative, '/'-separated) from r.
// Files no adapter knows are ignored (r is not read). Each line is one
// record; a line that is not JSON is counted, not fatal.
func (a *Analyzer) Feed(rel string, r io.Reader) error {
	if isFindings(rel) {
		b, err := io.ReadAll(io.LimitReader(r, maxFindingsFile+1))
		if err != nil {
			return fmt.Errorf("report: reading %s: %w", rel, err)
		}
		first := !a.findingsFile // several sources write findings: all are shown
		a.findingsFile = true
		if len(b) > maxFindingsFile {
			a.findingsBad, a.findingsOK = true, false
			return nil
		}
		fs, ok := parseFindings(b)
		for _, f := range fs {
			for _, r := range f.Records {
				if r.Path == "" || r.Line <= 0 {
					continue
				}
				if a.want[r.Path] == nil {
					a.want[r.Path] = map[int64][]byte{}
				}
				if _, ok := a.want[r.Path][r.Line]; !ok {
					a.want[r.Path][r.Line] = nil
				}
			}
		}
		a.findings = append(a.findings, fs...)
		a.findingsOK = ok && (first || a.findingsOK)
		a.findingsBad = a.findingsBad || !ok
		return nil
	}
	if isDiff(rel) {
		return a.feedDiff(r)
	}
	if isImported(rel) {
		return a.feedImported(rel, r)
	}
	ad := adapterFor(rel)
	lines := a.want[rel]
	if ad == nil {
		inbox := isInboxRules(rel)
		if lines == nil && !inbox {
			return nil
		}
		return eachLine(r, func(n int64, line []byte) {
			if lines != nil {
				a.capture(lines, n, line)
			}
			if inbox && len(line) > 1 && line[0] == '{' {
				for _, f := range forwardTargets(gjson.ParseBytes(line)) {
					a.ind(IndFwd, f, "snapshot", time.Time{})
				}
			}
		})
	}
	if a.files[rel] != nil {
		return fmt.Errorf("report: %s read twice", rel)
	}
	lk, la := ad.Label(rel)
	fs := &FileStat{Path: rel, Class: ad.Class, LabelKey: lk, LabelArg: la}
	a.files[rel] = fs
	a.order = append(a.order, rel)

	return a.feedRecords(ad, fs, lines, r)
}

// feedRecords reads the records of one file in three stages, so that a
// large file is read on more than one core: a reader goroutine cuts the
// file into batches of lines, extract workers fill each line's event from
// the record (Adapter.Extract reads only its record), and the calling
// goroutine takes the batches in file order and accounts for each event
// (Analyzer.event), so the result is the one a single goroutine gets.
// Batches in flight are bounded, so memory does not grow with the file.
func (a *Analyzer) feedRecords(ad *Adapter, fs *FileStat, lines map[int64][]byte, r io.Reader) error {
	workers := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *lineBatch, workers)
	order := make(chan *lineBatch, workers+2)
	free := make(chan *lineBatch, workers+3)
	var readErr error
	go func() { // the reader; the loop below takes every batch it sends
		defer close(work)
		defer close(order)
		readErr = readBatches(r, free, func(b *lineBatch) {
			order <- b
			work <- b // never blocks for long: a worker takes it
		})
	}()
	for i := 0; i < workers; i++ {
		go func() {
			for b := range work {
				b.extract(ad, fs.Path)
				close(b.done)
			}
		}()
	}
	for b := range order {
		<-b.done
		for i := range b.ends {
			fs.Records++
			line := b.line(i)
			if lines != nil {
				a.capture(lines, fs.Records, line)
			}
			if !b.ok[i] {
				fs.Unreadable++
				continue
			}
			ev := new(Event)
			*ev = b.evs[i]
			ev.Line = fs.Records
			a.event(fs, ev)
		}
		b.reset()
		select {
		case free <- b:
		default:
		}
	}
	if readErr != nil {
		return fmt.Errorf("report: reading %s: %w", fs.Path, readErr)
	}
	return nil
}

// lineBatch is a run of lines of a record file and, once done is closed,
// the event extracted from each (ok: the line is a JSON object).
type lineBatch struct {
	buf   []byte // the lines, back to back, without their newlines
	ends  []int  // where each line ends in buf
	ok    []bool
	evs   []Event
	who   []Who
	where []Where
	what  []What
	done  chan struct{}
}

// Batches are cut at batchLines lines or once they hold batchBytes.
const (
	batchLines = 256
	batchBytes = 512 << 10
)

func (b *lineBatch) line(i int) []byte {
	from := 0
	if i > 0 {
		from = b.ends[i-1]
	}
	return b.buf[from:b.ends[i]]
}

func (b *lineBatch) reset() {
	b.buf, b.ends, b.ok = b.buf[:0], b.ends[:0], b.ok[:0]
	clear(b.evs)
	b.evs = b.evs[:0]
	b.done = make(chan struct{})
}

// extract fills each line's event, as record does, into the batch's own
// scratch values; the strings point into buf until Analyzer.own copies them.
func (b *lineBatch) extract(ad *Adapter, file string) {
	n := len(b.ends)
	if cap(b.ok) < n {
		b.ok, b.evs = make([]bool, n, batchLines), make([]Event, n, batchLines)
		b.who, b.where, b.what = make([]Who, n, batchLines), make([]Where, n, batchLines), make([]What, n, batchLines)
	}
	b.ok, b.evs = b.ok[:n], b.evs[:n]
	clear(b.ok)
	b.who, b.where, b.what = b.who[:n], b.where[:n], b.what[:n]
	for i := range b.ends {
		line := b.line(i)
		if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' {
			continue
		}
		b.ok[i] = true
		b.who[i], b.where[i], b.what[i] = Who{}, Where{}, What{Class: ad.Class, File: file}
		ev := &b.evs[i]
		ev.Who, ev.Where, ev.What = &b.who[i], &b.where[i], &b.what[i]
		ad.Extract(record.View(line), ev)
	}
}

// readBatches cuts r into lines (a line longer than maxLine is kept as
// the unreadable "!") and hands them to send in batches taken from free
// (or new), until r ends or fails.
func readBatches(r io.Reader, free chan *lineBatch, send func(*lineBatch)) error {
	get := func() *lineBatch {
		select {
		case b := <-free:
			return b
		default:
			return &lineBatch{buf: make([]byte, 0, batchBytes), done: make(chan struct{})}
		}
	}
	br := bufio.NewReaderSize(r, 256<<10)
	b := get()
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line := chunk
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(chunk) <= maxLine {
				long = append(long, chunk...)
			} else {
				long = append(long[:0], '!') // marks the line unreadable
			}
			continue
		}
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if len(line) > 0 {
			b.buf = append(b.buf, bytes.TrimRight(line, "\r\n")...)
			b.ends = append(b.ends, len(b.buf))
			if len(b.ends) >= batchLines || len(b.buf) >= batchBytes {
				send(b)
				b = get()
			}
		}
		if err != nil && len(b.ends) > 0 {
			send(b)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// event accounts for one extracted record.
func (a *Analyzer) event(fs *FileStat, ev *Event) {
	a.own(ev)
	if ev.Time.IsZero() {
		fs.Untimed++
		return
	}
	if fs.First.IsZero() || ev.Time.Before(fs.First) {
		fs.First = ev.Time
	}
	if ev.Time.After(fs.Last) {
		fs.Last = ev.Time
	}
	a.total++
	a.byClass[ev.Class]++
	a.count(ev)
	a.ind(IndIP, ev.IP, ev.Class, ev.Time)
	if ev.Class == ClassSignIn {
		a.ind(IndUA, ev.UA, ev.Class, ev.Time)
		a.ind(IndApp, ev.App, ev.Class, ev.Time)
		a.ind(IndCountry, ev.Country, ev.Class, ev.Time)
	}
	for _, f := range ev.Fwd {
		a.ind(IndFwd, f, ev.Class, ev.Time)
	}
	if ev.Tenant != "" {
		a.tenants.add(ev.Tenant)
	}
	switch ev.Class {
	case ClassSignIn:
		if !ev.Copy {
			a.signIn(ev)
		}
	case ClassMail:
		a.mail(ev)
	case ClassGraph:
		a.graphCandidate(ev)
	}
	if len(ev.Flags) > 0 {
		a.highlight(ev)
		return
	}
	a.keepOrdinary(ev)
}

func (a *Analyzer) count(ev *Event) {
	h := ev.Time.Truncate(time.Hour).Unix()
	c := a.hours[h]
	if c == nil {
		c = new([nCounts]int64)
		a.hours[h] = c
	}
	switch ev.Class {
	case ClassSignIn:
		if ev.Result == ResultSuccess {
			c[cSignInOK]++
		} else {
			c[cSignInFail]++
		}
	case ClassAudit:
		c[cAudit]++
	case ClassUAL:
		c[cUAL]++
	case ClassMail:
		c[cMail]++
	}
}

// group adds a sign-in to a "who and where" table.
func (a *Analyzer) group(m map[string]*GroupStat, key string, ev *Event) *GroupStat {
	if key == "" {
		key = "—"
	}
	g := m[key]
	if g == nil {
		if len(m) >= maxKeys {
			return nil
		}
		g = &GroupStat{Key: key, Countries: newTopSet(), Apps: newTopSet(), Users: newTopSet(), IPs: newTopSet()}
		m[key] = g
	}
	g.SignIns++
	switch ev.Result {
	case ResultSuccess:
		g.Success++
	case ResultInterrupted:
		g.Interrupts++
	default:
		g.Failure++
	}
	if g.First.IsZero() || ev.Time.Before(g.First) {
		g.First = ev.Time
	}
	if ev.Time.After(g.Last) {
		g.Last = ev.Time
	}
	g.Countries.add(joinNonEmpty(", ", ev.City, ev.Country))
	g.Apps.add(ev.App)
	g.Users.add(ev.User)
	g.IPs.add(ev.IP)
	return g
}

func (a *Analyzer) signIn(ev *Event) {
	if a.group(a.ips, ev.IP, ev) == nil {
		a.droppedIPs++
	}
	a.group(a.countries, ev.Country, ev)
	a.group(a.apps, ev.App, ev)

	uk := ev.UserKey
	u := a.users[uk]
	if u == nil {
		if len(a.users) >= maxKeys {
			a.dropped++
			return
		}
		u = &userState{first: ev.Time, last: ev.Time}
		a.users[uk] = u
	}
	if ev.Time.Before(u.first) {
		u.first = ev.Time
	}
	if ev.Time.After(u.last) {
		u.last = ev.Time
	}
	if ev.IP != "" {
		if p := a.pair(a.pairs, pairKey{uk, ev.IP}); p != nil {
			p.firstOKOf(ev)
			a.failThenSuccess(p, ev)
		}
	}
	if ev.Country != "" {
		if p := a.pair(a.cpairs, pairKey{uk, ev.Country}); p != nil {
			p.firstOKOf(ev)
		}
	}
}

// pairKey is a user (UserKey) and one of its IP addresses or countries.
type pairKey struct{ user, value string }

// indValue is an indicator's kind and its value as a record gives it.
type indValue struct{ kind, value string }

func (a *Analyzer) pair(m map[pairKey]*pairState, key pairKey) *pairState {
	p := m[key]
	if p == nil {
		if len(m) >= maxKeys {
			a.dropped++
			return nil
		}
		p = &pairState{}
		m[key] = p
	}
	return p
}

func (p *pairState) firstOKOf(ev *Event) {
	if ev.Result == ResultSuccess && (p.firstOK == nil || ev.Time.Before(p.firstOK.Time)) {
		p.firstOK = ev
	}
}

// failThenSuccess applies the failures-then-success rule, reading records in
// the order Graph returns them (newest first): a success becomes pending, and
// the failures read after it that lie within failWindow before it count
// toward it. At failuresBeforeSuccess the success and those failures are
// highlighted, and so are later failures of the same run.
func (a *Analyzer) failThenSuccess(p *pairState, ev *Event) {
	switch ev.Result {
	case ResultSuccess:
		p.pending, p.fails, p.nfails = ev, nil, 0
	case ResultFailure:
		s := p.pending
		if s == nil || !ev.Time.Before(s.Time) || s.Time.Sub(ev.Time) > failWindow {
			return
		}
		p.nfails++
		switch {
		case p.nfails < failuresBeforeSuccess:
			p.fails = append(p.fails, ev) // ordinary until the threshold
		case p.nfails == failuresBeforeSuccess:
			s.flag(FlagFailSuccess)
			a.highlight(s)
			for _, f := range p.fails {
				f.flag(FlagFailSuccess)
				a.highlight(f)
			}
			p.fails = nil
			ev.flag(FlagFailSuccess)
		default:
			ev.flag(FlagFailSuccess)
		}
	}
}

func (a *Analyzer) mail(ev *Event) {
	s := strings.ToLower(ev.User)
	if s == "" {
		return
	}
	k := s + "\x00" + fmt.Sprint(ev.Time.Truncate(time.Hour).Unix())
	if _, ok := a.senders[k]; !ok && len(a.senders) >= maxKeys {
		a.dropped++
		return
	}
	a.senders[k]++
	if _, ok := a.mailFile[s]; !ok {
		a.mailFile[s] = ev.File
	}
}

func (a *Analyzer) highlight(ev *Event) {
	k := ev.key()
	if old := a.highlights[k]; old != nil {
		for _, f := range ev.Flags {
			old.flag(f)
		}
		return
	}
	if len(a.highlights) >= TimelineHighlights {
		if a.overflowed == nil {
			a.overflowed = map[string]bool{}
		}
		if !a.overflowed[k] && len(a.overflowed) < maxKeys {
			a.overflowed[k] = true
			a.hlOverflow++
		}
		return
	}
	a.highlights[k] = ev
}

// flaggedRecords counts the records (not synthetic events) that matched a
// rule, shown or not.
func (a *Analyzer) flaggedRecords() int64 {
	n := a.hlOverflow
	for _, e := range a.highlights {
		if e.Note == "" {
			n++
		}
	}
	return n
}

func (a *Analyzer) keepOrdinary(ev *Event) {
	if a.ordinary.Len() < TimelineOrdinary {
		heap.Push(&a.ordinary, ev)
		return
	}
	if ev.Time.After(a.ordinary.at(0).Time) {
		*a.ordinary.at(0) = *ev
		heap.Fix(&a.ordinary, 0)
	}
}

// valueHeap is a min-heap of events by time, the oldest on top, holding
// the events themselves: a rule that later flags the record highlights its
// own pointer, and the timeline shows the highlighted one. The events are
// kept in blocks of heapBlock, so that growing never copies those kept so
// far (a slice's growth would hold both copies for a moment).
type valueHeap struct {
	blocks [][]Event
	n      int
}

const heapBlock = 4096

func (h *valueHeap) at(i int) *Event    { return &h.blocks[i/heapBlock][i%heapBlock] }
func (h *valueHeap) Len() int           { return h.n }
func (h *valueHeap) Less(i, j int) bool { return h.at(i).Time.Before(h.at(j).Time) }
func (h *valueHeap) Swap(i, j int)      { a, b := h.at(i), h.at(j); *a, *b = *b, *a }
func (h *valueHeap) Push(x any) {
	if h.n == len(h.blocks)*heapBlock {
		h.blocks = append(h.blocks, make([]Event, heapBlock))
	}
	*h.at(h.n) = *x.(*Event)
	h.n++
}
func (h *valueHeap) Pop() any {
	h.n--
	x := *h.at(h.n)
	*h.at(h.n) = Event{}
	return &x
}

// eventHeap is a min-heap by time: the oldest kept event on top.
type eventHeap []*Event

func (h eventHeap) Len() int           { return len(h) }
func (h eventHeap) Less(i, j int) bool { return h[i].Time.Before(h[j].Time) }
func (h eventHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)        { *h = append(*h, x.(*Event)) }
func (h *eventHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// topSet counts up to topSetMax distinct values and how many others.
type topSet struct {
	n     map[string]int64
	other int64
}

const topSetMax = 16

func newTopSet() *topSet { return &topSet{n: map[string]int64{}} }

func (t *topSet) add(v string) {
	if v == "" {
		return
	}
	if _, ok := t.n[v]; ok || len(t.n) < topSetMax {
		t.n[v]++
		return
	}
	t.other++
}

// Top returns up to k values, most frequent first, and how many distinct
// values were left out (at least; values beyond topSetMax are not told apart).
func (t *topSet) Top(k int) ([]string, int) {
	vs := make([]string, 0, len(t.n))
	for v := range t.n {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool {
		if t.n[vs[i]] != t.n[vs[j]] {
			return t.n[vs[i]] > t.n[vs[j]]
		}
		return vs[i] < vs[j]
	})
	more := 0
	if len(vs) > k {
		more = len(vs) - k
		vs = vs[:k]
	}
	if t.other > 0 {
		more++
	}
	return vs, more
}

// Len is the number of distinct values seen (at most topSetMax, plus one
// if there were more).
func (t *topSet) Len() int {
	n := len(t.n)
	if t.other > 0 {
		n++
	}
	return n
}

// MemoryLimit is the soft memory limit (Go's runtime/debug.SetMemoryLimit)
// under which a page is built: the analyzer keeps up to TimelineOrdinary
// events (about 100 MB for a bundle of millions of records), and without a
// limit the garbage collector lets the heap grow to twice that.
const MemoryLimit = 64 << 20

// LimitMemory lowers the process's soft memory limit to MemoryLimit while a
// page is built, unless GOMEMLIMIT is set (it then decides), and returns
// the function that restores the previous limit.
func LimitMemory() (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	prev := debug.SetMemoryLimit(-1)
	if prev <= MemoryLimit {
		return func() {}
	}
	debug.SetMemoryLimit(MemoryLimit)
	return func() { debug.SetMemoryLimit(prev) }
}
