package graphtest

import (
	"errors"
	"hash/fnv"
	"time"
)

// Arrival makes records reach the logs some time after their event time, as
// Entra ID and the unified audit log do: a record with time T is served only
// once the tenant's clock has reached T plus its delay. The delay of each
// record is fixed by a hash of the tenant's seed and the record's id, so
// ground truth (Count, IDs, Visible) is exact at every clock.
//
// The zero value means every record is visible at its event time.
type Arrival struct {
	Late     float64       // share of records that arrive late (0..1)
	MaxDelay time.Duration // a late record's delay is spread evenly over (0, MaxDelay]
}

func (a Arrival) on() bool { return a.Late > 0 && a.MaxDelay > 0 }

// Delay returns how long after its event time the record with this id
// becomes visible (0 for records that arrive at once).
func (t *Tenant) Delay(id string) time.Duration {
	return time.Duration(t.delayTicks(id)) * tickDur
}

func (t *Tenant) delayTicks(id string) int64 {
	a := t.cfg.Arrival
	if !a.on() {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(itoa(t.cfg.Seed)))
	h.Write([]byte{0})
	h.Write([]byte(id))
	x := mix64(h.Sum64())
	if float64(x>>11)/(1<<53) >= a.Late {
		return 0
	}
	max := int64(a.MaxDelay / tickDur)
	return 1 + int64(mix64(x)%uint64(max))
}

// arrived reports whether the record at position p of src is visible at now
// (in ticks).
func (t *Tenant) arrived(src source, p, now int64) bool {
	a := t.cfg.Arrival
	if !a.on() {
		return true
	}
	k := src.tickAt(p)
	if k <= now-int64(a.MaxDelay/tickDur) {
		return true // even the latest record of that instant has arrived
	}
	return k+t.delayTicks(src.id(p)) <= now
}

// nextArrived is merger.next, skipping records that have not arrived by now.
func (t *Tenant) nextArrived(m *merger, now int64) (source, int64, bool) {
	for {
		src, p, ok := m.next()
		if !ok || t.arrived(src, p, now) {
			return src, p, ok
		}
	}
}

// moreArrived reports whether a page that served `served` of the `total`
// candidate records leaves any visible record behind it in m.
func (t *Tenant) moreArrived(m *merger, served int, total int64, now int64) bool {
	if !t.cfg.Arrival.on() {
		return int64(served) < total
	}
	_, _, ok := t.nextArrived(m, now)
	return ok
}

func (a Arrival) validate() error {
	if a.Late < 0 || a.Late > 1 || a.MaxDelay < 0 {
		return errors.New("graphtest: Arrival.Late must be in 0..1 and MaxDelay not negative")
	}
	return nil
}
