package collect

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The one grammar of every flag that takes a duration or a time (--since,
// --until, --split, --settle, --overlap, --retain, --now, ...):
//
//	duration  a number and a unit: 30d, 2w, 36h, 1.5d, 90m, 45s; w is 7 days,
//	          d is 24 hours; also Go's form (36h0m, 1h30m); 0 is none
//	time      a duration back from now (30d), an RFC 3339 time with an
//	          explicit offset (2026-11-01T00:00:00Z), or a bare date
//	          (2026-11-01: midnight UTC)
//
// Times are UTC, truncated to Graph's 100 ns resolution.

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// durationHelp and whenHelp end the error of a value that does not parse.
const (
	durationHelp = "use a number and a unit, like 30d, 2w, 36h, 1.5d or 90m"
	whenHelp     = "use a duration back from now (30d, 2w, 36h, 1.5d), an RFC 3339 time with offset (2026-11-01T00:00:00Z) or a date (2026-11-01, midnight UTC)"
)

// ParseDuration reads a duration in the grammar above. Negative durations
// are refused.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, ok := parseDuration(s)
	if !ok {
		if strings.HasSuffix(s, "y") || strings.HasSuffix(s, "mo") {
			// A year or a month has no fixed length: say which days to write.
			return 0, fmt.Errorf("%q is not a duration: years and months have no fixed length; write days (365d for a year, 30d for a month)", s)
		}
		return 0, fmt.Errorf("%q is not a duration: %s", s, durationHelp)
	}
	return d, nil
}

func parseDuration(s string) (time.Duration, bool) {
	if s == "" || s[0] == '-' || s[0] == '+' {
		return 0, false
	}
	unit := map[byte]time.Duration{'w': week, 'd': day}[s[len(s)-1]]
	if unit == 0 {
		d, err := time.ParseDuration(s)
		return d, err == nil && d >= 0
	}
	n, err := strconv.ParseFloat(s[:len(s)-1], 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) || n*float64(unit) > math.MaxInt64 {
		return 0, false
	}
	return time.Duration(math.Round(n * float64(unit))), true
}

// ParseWhen reads a time in the grammar above, a duration counting back
// from now.
func ParseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time: %s", whenHelp)
	}
	if d, ok := parseDuration(s); ok && s != "0" {
		return now.Add(-d).UTC().Truncate(Tick), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Truncate(Tick), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: %s", s, whenHelp)
}
