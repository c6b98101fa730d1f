package collect

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30d": 30 * day, "2w": 2 * week, "36h": 36 * time.Hour, "1.5d": 36 * time.Hour, "0.5w": 84 * time.Hour,
		"90m": 90 * time.Minute, "45s": 45 * time.Second, "36h0m": 36 * time.Hour, "1h30m": 90 * time.Minute,
		"0": 0, " 7d ": 7 * day,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "30", "-3d", "+3d", "-1h", "1.5", "3 d", "NaNd", "Infd", "1e300d", "2026-11-01", "yesterday"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, accepted", bad, d)
		}
	}
	// A year or a month is refused with the days to write instead.
	for in, hint := range map[string]string{"1y": "365d", "6mo": "30d"} {
		if _, err := ParseDuration(in); err == nil || !strings.Contains(err.Error(), hint) {
			t.Errorf("ParseDuration(%q) error %v; want one naming %s", in, err, hint)
		}
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Time{
		"30d":                            now.Add(-30 * 24 * time.Hour),
		"12h":                            now.Add(-12 * time.Hour),
		"2w":                             now.Add(-14 * 24 * time.Hour),
		"1.5d":                           now.Add(-36 * time.Hour),
		"2026-11-01":                     time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-01T09:00:00+09:00":      time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-01T00:00:00.123456789Z": time.Date(2026, 11, 1, 0, 0, 0, 123456700, time.UTC),
	}
	for in, want := range cases {
		got, err := ParseWhen(in, now)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseWhen(%q) = %v, %v; want %v UTC", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "", "0", "30", "d", "-3d", "2026-11-01T00:00:00", "2026-13-01", "11/01/2026"} {
		if _, err := ParseWhen(bad, now); err == nil {
			t.Errorf("ParseWhen(%q) accepted", bad)
		}
	}
}
