package collect

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Budget is a throttling budget: at most Requests requests in any sliding
// window of length Per. The zero value means unlimited.
type Budget struct {
	Requests int
	Per      time.Duration
}

// Unlimited reports whether the budget imposes no limit.
func (b Budget) Unlimited() bool { return b.Requests <= 0 || b.Per <= 0 }

// String renders the budget as "5/10s".
func (b Budget) String() string {
	if b.Unlimited() {
		return "unlimited"
	}
	return fmt.Sprintf("%d/%s", b.Requests, b.Per)
}

// ParseBudget reads "5/10s" (requests per Go duration) or "unlimited".
func ParseBudget(s string) (Budget, error) {
	if s == "unlimited" || s == "0" {
		return Budget{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Budget{}, fmt.Errorf("budget %q: want REQUESTS/DURATION, e.g. 5/10s", s)
	}
	r, err := strconv.Atoi(n)
	if err != nil || r <= 0 {
		return Budget{}, fmt.Errorf("budget %q: request count must be a positive integer", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Budget{}, fmt.Errorf("budget %q: duration must be positive, like 10s or 5m", s)
	}
	return Budget{Requests: r, Per: d}, nil
}

// Graph service budgets the collectors pace themselves to (documented on the
// Microsoft Graph throttling-limits page; see docs/sources.md).
var (
	// ReportsBudget is the identity and access reports budget (sign-ins,
	// directory audits): 5 requests per 10 s per app per tenant.
	ReportsBudget = Budget{Requests: 5, Per: 10 * time.Second}
	// MessageTraceBudget: 100 requests per 5 minutes.
	MessageTraceBudget = Budget{Requests: 100, Per: 5 * time.Minute}
	// AuditQueryBudget: 200 audit log query submissions per 24 h per tenant.
	AuditQueryBudget = Budget{Requests: 200, Per: 24 * time.Hour}
	// SecurityBudget: 150 requests per minute per app per tenant on
	// /security (the page names alerts; incidents are paced the same).
	SecurityBudget = Budget{Requests: 150, Per: time.Minute}
	// HuntingBudget: advanced hunting, at least 45 calls per minute per
	// tenant (Defender XDR advanced hunting API page).
	HuntingBudget = Budget{Requests: 45, Per: time.Minute}
)

// Limiter enforces a Budget on the client side with a sliding log of send
// times: a request waits until fewer than Requests were sent in the last
// Per (+ margin). Unlike a token bucket, which admits a full burst plus its
// refill inside one window, this never exceeds the budget in any window.
type Limiter struct {
	budget Budget
	margin time.Duration

	mu     sync.Mutex
	sent   []time.Time // ring of the last budget.Requests send times
	next   int
	waited time.Duration
	waits  int64
}

// NewLimiter returns a limiter for b. margin widens the window to absorb the
// difference between when a request leaves and when the service counts it.
func NewLimiter(b Budget, margin time.Duration) *Limiter {
	l := &Limiter{budget: b, margin: margin}
	if !b.Unlimited() {
		l.sent = make([]time.Time, b.Requests)
	}
	return l
}

// Wait blocks until a request may be sent under the budget, reserves its slot
// and returns how long it waited.
func (l *Limiter) Wait(ctx context.Context) (time.Duration, error) { return l.WaitNotify(ctx, nil) }

// WaitNotify is Wait that first tells notify how long the request will wait,
// when it must wait at all (for a progress display).
func (l *Limiter) WaitNotify(ctx context.Context, notify func(time.Duration)) (time.Duration, error) {
	_, d, err := l.reserve(ctx, notify)
	return d, err
}

// reserve is WaitNotify that also returns the slot reserved (-1 when the
// budget is unlimited), for Sent.
func (l *Limiter) reserve(ctx context.Context, notify func(time.Duration)) (int, time.Duration, error) {
	if l == nil || l.budget.Unlimited() {
		return -1, 0, nil
	}
	l.mu.Lock()
	now := time.Now()
	at := now
	if oldest := l.sent[l.next]; !oldest.IsZero() {
		if free := oldest.Add(l.budget.Per + l.margin); free.After(at) {
			at = free
		}
	}
	slot := l.next
	l.sent[slot] = at
	l.next = (l.next + 1) % len(l.sent)
	wait := at.Sub(now)
	if wait > 0 {
		l.waited += wait
		l.waits++
	}
	l.mu.Unlock()
	if wait <= 0 {
		return slot, 0, nil
	}
	if notify != nil {
		notify(wait)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		// Timers fire late, never early: record when the request really
		// goes, so later requests count from the actual send time.
		l.Sent(slot, time.Now())
		return slot, wait, nil
	case <-ctx.Done():
		return slot, wait, ctx.Err()
	}
}

// Sent records that the request of slot really left at `at` (its bytes
// written to the connection), when that is later than the time reserved:
// the requests after it count from when it left, not from when the
// limiter let it go, so a request delayed on its way out (a busy machine,
// a new connection) never makes two requests look closer to the service
// than the budget allows.
func (l *Limiter) Sent(slot int, at time.Time) {
	if l == nil || slot < 0 || slot >= len(l.sent) {
		return
	}
	l.mu.Lock()
	if at.After(l.sent[slot]) {
		l.sent[slot] = at
	}
	l.mu.Unlock()
}

// Waited returns the total time and the number of times requests waited.
func (l *Limiter) Waited() (time.Duration, int64) {
	if l == nil {
		return 0, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waited, l.waits
}

// Interval is the average time between requests the budget allows (0 when
// unlimited).
func (b Budget) Interval() time.Duration {
	if b.Unlimited() {
		return 0
	}
	return b.Per / time.Duration(b.Requests)
}

// Estimate is how much a query will read and how long it will take at its
// budget, judged from its first page.
type Estimate struct {
	Records   int64         // records expected in the whole window
	Pages     int64         // pages expected, the first included
	PagesLeft int64         // pages after the first
	Budget    Budget        // the budget the requests are paced by
	Duration  time.Duration // PagesLeft at the budget's rate (0 when unlimited)
}

// EstimateFirstPage judges a newest-first query from its first page: n
// records that cover the newest `covered` of a window `whole` long, with more
// pages to come when more is true. The records are assumed spread over the
// window as densely as on the first page; the pages hold pageSize records
// (n when pageSize is smaller); requests go at the budget's average rate.
// At least minPages pages are counted (a split window asks one page a
// sub-window at the least).
func EstimateFirstPage(n int, covered, whole time.Duration, pageSize, minPages int, more bool, b Budget) Estimate {
	e := Estimate{Records: int64(n), Pages: 1, Budget: b}
	if more {
		per := max(pageSize, n, 1)
		covered = max(covered, time.Second) // one instant: assume a second
		total := int64(float64(n) * float64(whole) / float64(covered))
		total = max(total, int64(n)+1) // more pages follow: at least one record more
		e.Records = total
		e.Pages = max((total+int64(per)-1)/int64(per), int64(minPages), 2)
		e.PagesLeft = e.Pages - 1
	}
	e.Duration = time.Duration(e.PagesLeft) * b.Interval()
	return e
}
