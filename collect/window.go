package collect

import (
	"fmt"
	"time"
)

// Tick is Graph's time resolution: DateTimeOffset values carry at most seven
// fractional digits (100 ns).
const Tick = 100 * time.Nanosecond

// Window is a half-open UTC interval [Start, End). Every sub-window the tool
// queries is half-open, so a record exactly on a boundary belongs to exactly
// one window.
type Window struct {
	Start, End time.Time
}

// Empty reports whether the window contains no instant.
func (w Window) Empty() bool { return !w.Start.Before(w.End) }

// Duration is End - Start.
func (w Window) Duration() time.Duration { return w.End.Sub(w.Start) }

// String renders the window as "[start, end)" in RFC 3339 UTC.
func (w Window) String() string {
	return "[" + FormatTime(w.Start) + ", " + FormatTime(w.End) + ")"
}

// Halves splits w at a whole second near its middle, for a query whose
// answer was capped; ok is false when w is too short to split.
func (w Window) Halves() (first, second Window, ok bool) {
	mid := w.Start.Add(w.Duration() / 2).Truncate(time.Second)
	if !mid.After(w.Start) || !mid.Before(w.End) {
		return w, w, false
	}
	return Window{Start: w.Start, End: mid}, Window{Start: mid, End: w.End}, true
}

// Clamp returns the part of w that lies at or after notBefore, and the part
// before it that was cut off (empty when nothing was).
func (w Window) Clamp(notBefore time.Time) (kept, lost Window) {
	if !w.Start.Before(notBefore) {
		return w, Window{}
	}
	if !w.End.After(notBefore) {
		return Window{}, w
	}
	return Window{Start: notBefore, End: w.End}, Window{Start: w.Start, End: notBefore}
}

// FormatTime renders t in UTC as RFC 3339 with only the fractional digits it
// needs: the form used in every file, log line and manifest field.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ODataTime renders t for an OData $filter literal: UTC, RFC 3339, seven
// fractional digits when the instant is not a whole second.
func ODataTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.0000000Z")
}

// RangeFilter is the OData clause selecting the half-open window w on prop.
// Graph documents only eq, ge and le on the audit-log time properties, so the
// exclusive end is expressed as "le End - 100 ns", Graph's resolution.
func RangeFilter(prop string, w Window) string {
	return fmt.Sprintf("%s ge %s and %s le %s", prop, ODataTime(w.Start), prop, ODataTime(w.End.Add(-Tick)))
}
