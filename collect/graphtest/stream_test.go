package graphtest

import (
	"testing"
	"time"
)

func TestTimelineOrderAndCounts(t *testing.T) {
	origin := toTicks(testNow) - spanTicks
	for _, n := range []int64{1, 2, 7, 300, 100000} {
		tl := newTimeline(mix64(uint64(n)), n, origin)
		// Strictly increasing across several periods, inside their period.
		for g := -2 * n; g < 2*n && g < 3000; g++ {
			a, b := tl.at(g), tl.at(g+1)
			if b <= a {
				t.Fatalf("n=%d: tick(%d)=%d >= tick(%d)=%d", n, g, a, g+1, b)
			}
			k := floorDiv(g, n)
			if a < origin+k*spanTicks || a >= origin+(k+1)*spanTicks {
				t.Fatalf("n=%d: record %d outside its period", n, g)
			}
		}
		// Each period holds exactly n records.
		for k := int64(-2); k <= 2; k++ {
			if got := tl.pos(origin+(k+1)*spanTicks) - tl.pos(origin+k*spanTicks); got != n {
				t.Fatalf("n=%d: period %d holds %d", n, k, got)
			}
		}
		// pos is consistent with at, on and next to record ticks.
		for g := -n; g < n && g < 500; g++ {
			at := tl.at(g)
			if tl.pos(at) != g || tl.pos(at+1) != g+1 {
				t.Fatalf("n=%d: pos around record %d", n, g)
			}
		}
	}
}

func TestTimestampFormat(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 20, 8, 15, 32, 0, time.UTC), "2026-11-20T08:15:32Z"},
		{time.Date(2026, 11, 20, 8, 15, 32, 500000000, time.UTC), "2026-11-20T08:15:32.5Z"},
		{time.Date(2026, 11, 20, 8, 15, 32, 123456700, time.UTC), "2026-11-20T08:15:32.1234567Z"},
		{time.Date(2026, 11, 20, 8, 15, 32, 100, time.UTC), "2026-11-20T08:15:32.0000001Z"},
		{time.Date(1969, 12, 31, 23, 59, 59, 900000000, time.UTC), "1969-12-31T23:59:59.9Z"},
	} {
		if got := FormatTime(tc.t); got != tc.want {
			t.Errorf("FormatTime(%v) = %s, want %s", tc.t, got, tc.want)
		}
		if back := fromTicks(toTicks(tc.t)); !back.Equal(tc.t) {
			t.Errorf("ticks round trip %v -> %v", tc.t, back)
		}
	}
}

func TestJSONString(t *testing.T) {
	got := string(appendJSONString(nil, "a\"b\\c\n\x01田中\u2028\xff"))
	want := `"a\"b\\c\n\u0001田中\u2028\ufffd"`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestFilterParser(t *testing.T) {
	q, err := newLogQuery(apiAudits, false, "activityDateTime ge 2026-11-20T00:00:00Z and activityDateTime le 2026-11-21T00:00:00.5Z and "+
		"targetResources/any(r:r/id eq 'ABC') and initiatedBy/user/userPrincipalName eq 'O''Brien@contoso.com'", true)
	if err != nil {
		t.Fatal(err)
	}
	lo := toTicks(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	hi := toTicks(time.Date(2026, 11, 21, 0, 0, 0, 500000000, time.UTC)) + 1
	if q.lo != lo || q.hi != hi || q.targetID.v != "ABC" || q.initUPN.v != "O'Brien@contoso.com" {
		t.Errorf("query %+v", q)
	}
	q, err = newLogQuery(apiSignIns, false, "userId eq 'a' and userId eq 'b'", true)
	if err != nil || !q.none {
		t.Errorf("contradiction: %+v %v", q, err)
	}
}
