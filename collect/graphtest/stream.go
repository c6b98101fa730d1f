package graphtest

import (
	"math"
	"math/bits"
	"sort"
	"time"
)

// Time inside the simulator is counted in ticks of 100 ns since the Unix
// epoch, the resolution of Graph's timestamps.
const (
	tickDur        = 100 * time.Nanosecond
	ticksPerSecond = int64(time.Second / tickDur)
	ticksPerDay    = 86400 * ticksPerSecond
	spanTicks      = 30 * ticksPerDay // one generation period (the 30 days before Now)
	minSpacing     = 100              // smallest mean gap between records of one stream, in ticks
)

func toTicks(t time.Time) int64 {
	return t.Unix()*ticksPerSecond + int64(t.Nanosecond())/int64(tickDur)
}

// toTicksCeil rounds up to the next tick, so that "tick >= toTicksCeil(t)"
// is exactly "instant >= t".
func toTicksCeil(t time.Time) int64 {
	k := toTicks(t)
	if t.Nanosecond()%int(tickDur) != 0 {
		k++
	}
	return k
}

func fromTicks(k int64) time.Time {
	sec := floorDiv(k, ticksPerSecond)
	return time.Unix(sec, (k-sec*ticksPerSecond)*int64(tickDur)).UTC()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// mix64 is the splitmix64 finaliser: a fast, well-distributed hash of x.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// timeline places the background records of one stream in time without
// storing them. The stream is stationary: period k (k any integer) covers
// [origin+k*span, origin+(k+1)*span) and holds exactly n records; record
// g = k*n+i sits at
//
//	origin + k*span + floor((2i+1)*span/(2n)) + jitter(g),  |jitter| <= 0.45*span/n
//
// so ticks are strictly increasing in g and every period, in particular the
// 30 days before the tenant's initial Now (period 0), holds exactly n.
type timeline struct {
	key    uint64 // per-stream hash key
	n      int64  // records per period (> 0)
	origin int64  // start of period 0, in ticks
	jit    int64  // jitter range, 0.9 * mean spacing
}

func newTimeline(key uint64, n int64, origin int64) timeline {
	return timeline{key: key, n: n, origin: origin, jit: spanTicks / n * 9 / 10}
}

// at returns the tick of record g.
func (tl *timeline) at(g int64) int64 {
	k := floorDiv(g, tl.n)
	i := g - k*tl.n
	hi, lo := bits.Mul64(uint64(2*i+1), uint64(spanTicks))
	q, _ := bits.Div64(hi, lo, uint64(2*tl.n))
	j := int64(mix64(tl.key^uint64(g)*0xd1b54a32d192ed03)%uint64(tl.jit)) - tl.jit/2
	return tl.origin + k*spanTicks + int64(q) + j
}

// pos returns the number of records with tick < t, counted from record 0
// (negative for instants before period 0). O(log n).
func (tl *timeline) pos(t int64) int64 {
	base := floorDiv(t-tl.origin, spanTicks) * tl.n
	lo, hi := int64(0), tl.n
	for lo < hi {
		m := lo + (hi-lo)/2
		if tl.at(base+m) < t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return base + lo
}

// record is one materialised log record (story records, or a background
// record generated for rendering).
type record interface {
	tick() int64
	recordID() string
	appendJSON(w *jw, rc *renderCtx)
}

// renderCtx carries what rendering needs beyond the record itself.
type renderCtx struct {
	sel      fieldSet // top-level properties to render; nil = all
	hideRisk bool     // P1 tenants see "hidden" risk details
	tenantID string   // homeTenantId of audit initiators
	beta     bool     // render the beta property set
}

// source is one strictly ordered stream of records: positions p map to
// strictly increasing ticks. Sources are merged into the served order
// (tick desc, ord desc).
type source interface {
	ord() int64
	pos(t int64) int64
	tickAt(p int64) int64
	rec(p int64) record
	id(p int64) string // rec(p).recordID(), cheaper
}

// storySource serves a small sorted slice of explicit records.
type storySource struct {
	o    int64
	recs []record // ascending, unique ticks
}

func (s *storySource) ord() int64 { return s.o }
func (s *storySource) pos(t int64) int64 {
	return int64(sort.Search(len(s.recs), func(i int) bool { return s.recs[i].tick() >= t }))
}
func (s *storySource) tickAt(p int64) int64 { return s.recs[p].tick() }
func (s *storySource) rec(p int64) record   { return s.recs[p] }
func (s *storySource) id(p int64) string    { return s.recs[p].recordID() }

// cursor is the position of the last record served, in the total order
// (tick desc, ord desc). Ticks are unique within a source, so (tick, ord)
// identifies a record.
type cursor struct {
	tick int64
	ord  int64
}

// run is the slice [lo, hi) of a source's positions that a query selects.
type run struct {
	src    source
	lo, hi int64
}

// plan selects, for each source, the records with lo <= tick < hi that come
// after cur (nil = from the start) and returns them with their total.
func plan(srcs []source, lo, hi int64, cur *cursor) ([]run, int64) {
	var runs []run
	var total int64
	if lo >= hi {
		return nil, 0
	}
	for _, s := range srcs {
		h := hi
		if cur != nil {
			b := cur.tick // same or higher ord: strictly older than the cursor
			if s.ord() < cur.ord {
				b++ // lower ord: the cursor's own tick still comes after it
			}
			h = min(h, b)
		}
		if h <= lo {
			continue
		}
		pl, ph := s.pos(lo), s.pos(h)
		if ph > pl {
			runs = append(runs, run{s, pl, ph})
			total += ph - pl
		}
	}
	return runs, total
}

// count returns how many records of srcs lie in [lo, hi).
func count(srcs []source, lo, hi int64) int64 {
	if lo >= hi {
		return 0
	}
	var n int64
	for _, s := range srcs {
		n += s.pos(hi) - s.pos(lo)
	}
	return n
}

// merger yields the records of a plan newest first (tick desc, ord desc).
type merger struct {
	runs []run
	h    []mitem
}

type mitem struct {
	tick, ord int64
	r         int // index into runs
	p         int64
}

func newMerger(runs []run) *merger {
	m := &merger{runs: runs, h: make([]mitem, 0, len(runs))}
	for i, r := range runs {
		p := r.hi - 1
		m.push(mitem{tick: r.src.tickAt(p), ord: r.src.ord(), r: i, p: p})
	}
	return m
}

func (m *merger) less(i, j int) bool { // heap order: "newer" first
	a, b := m.h[i], m.h[j]
	return a.tick > b.tick || (a.tick == b.tick && a.ord > b.ord)
}

func (m *merger) push(it mitem) {
	m.h = append(m.h, it)
	for i := len(m.h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !m.less(i, parent) {
			break
		}
		m.h[i], m.h[parent] = m.h[parent], m.h[i]
		i = parent
	}
}

// next returns the next record's source and position, and false at the end.
func (m *merger) next() (source, int64, bool) {
	if len(m.h) == 0 {
		return nil, 0, false
	}
	top := m.h[0]
	r := m.runs[top.r]
	if top.p-1 >= r.lo {
		m.h[0] = mitem{tick: r.src.tickAt(top.p - 1), ord: top.ord, r: top.r, p: top.p - 1}
	} else {
		last := len(m.h) - 1
		m.h[0] = m.h[last]
		m.h = m.h[:last]
	}
	for i := 0; ; {
		l, rr, best := 2*i+1, 2*i+2, i
		if l < len(m.h) && m.less(l, best) {
			best = l
		}
		if rr < len(m.h) && m.less(rr, best) {
			best = rr
		}
		if best == i {
			break
		}
		m.h[i], m.h[best] = m.h[best], m.h[i]
		i = best
	}
	return r.src, top.p, true
}

// unbounded tick limits for queries without a time filter.
const (
	tickMin = math.MinInt64 / 4
	tickMax = math.MaxInt64 / 4
)
