package report

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
)

// maxBars bounds the bars of the activity chart; longer windows are drawn
// with several hours per bar (the page says how many).
const maxBars = 1000

// chartRange is the requested window, or the span of the records when the
// manifest has none.
func chartRange(a *Analyzer, m *manifest.Manifest) (time.Time, time.Time) {
	start, err1 := time.Parse(time.RFC3339Nano, m.Requested.Start)
	end, err2 := time.Parse(time.RFC3339Nano, m.Requested.End)
	if err1 != nil || err2 != nil || !start.Before(end) {
		start, end = time.Time{}, time.Time{}
		for _, f := range a.files {
			if f.First.IsZero() {
				continue
			}
			if start.IsZero() || f.First.Before(start) {
				start = f.First
			}
			if f.Last.After(end) {
				end = f.Last
			}
		}
	}
	return start.UTC().Truncate(time.Hour), end.UTC()
}

// chart draws the activity per hour as an inline SVG: stacked bars for
// successful and failed sign-ins, directory audits, unified audit log
// records and messages, and a red mark at each highlighted event.
func chart(a *Analyzer, m *manifest.Manifest, tl timelineResult, cat *catalog) template.HTML {
	start, end := chartRange(a, m)
	if start.IsZero() || !start.Before(end) || a.total == 0 {
		return ""
	}
	bin := time.Duration(tl.binHours) * time.Hour
	nbins := int(end.Sub(start)/bin) + 1
	sums := make([][nCounts]int64, nbins)
	for h, c := range a.hours {
		i := int(time.Unix(h, 0).Sub(start) / bin)
		if i < 0 || i >= nbins {
			continue
		}
		for k := range c {
			sums[i][k] += c[k]
		}
	}
	var peak int64 = 1
	for _, s := range sums {
		var t int64
		for _, v := range s {
			t += v
		}
		peak = max(peak, t)
	}
	const (
		left, top, w, h = 44.0, 14.0, 1000.0, 120.0
		totalW, totalH  = left + w + 6, top + h + 30
	)
	bw := w / float64(nbins)
	x := func(t time.Time) float64 { return left + float64(t.Sub(start))/float64(bin)*bw }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		totalW, totalH, template.HTMLEscapeString(cat.S("chart.aria")))
	fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(cat.S("chart.aria")))
	// Axes.
	fmt.Fprintf(&b, `<path class="axis" d="M%.1f %.1fV%.1fH%.1f"/>`, left, top, top+h, left+w)
	fmt.Fprintf(&b, `<text class="lbl" x="%.1f" y="%.1f" text-anchor="end">%d</text>`, left-4, top+4, peak)
	fmt.Fprintf(&b, `<text class="lbl" x="%.1f" y="%.1f" text-anchor="end">0</text>`, left-4, top+h)
	// Stacked bars: one path per series.
	for k := 0; k < nCounts; k++ {
		var d strings.Builder
		for i, s := range sums {
			if s[k] == 0 {
				continue
			}
			var below int64
			for j := 0; j < k; j++ {
				below += s[j]
			}
			y0 := top + h - float64(below)/float64(peak)*h
			hh := float64(s[k]) / float64(peak) * h
			fmt.Fprintf(&d, "M%.2f %.2fh%.2fv%.2fh%.2fz", left+float64(i)*bw, y0-hh, max(bw-0.3, 0.4), hh, -max(bw-0.3, 0.4))
		}
		if d.Len() > 0 {
			fmt.Fprintf(&b, `<path class="s%d" d="%s"/>`, k, d.String())
		}
	}
	// Day ticks: at most about 15 labels.
	days := int(end.Sub(start)/(24*time.Hour)) + 1
	step := max(1, (days+14)/15)
	for d := start.Truncate(24 * time.Hour); !d.After(end); d = d.Add(24 * time.Hour) {
		if d.Before(start) {
			continue
		}
		xx := x(d)
		fmt.Fprintf(&b, `<path class="tick" d="M%.1f %.1fv4"/>`, xx, top+h)
		if int(d.Sub(start.Truncate(24*time.Hour))/(24*time.Hour))%step == 0 {
			fmt.Fprintf(&b, `<text class="lbl" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, xx, top+h+16, d.Format("01-02"))
		}
	}
	// Highlighted events.
	for _, e := range tl.events {
		if len(e.Flags) == 0 || e.Time.Before(start) || e.Time.After(end) {
			continue
		}
		xx := x(e.Time)
		fmt.Fprintf(&b, `<path class="hl" d="M%.1f %.1fv%.1f"><title>%s %s</title></path>`, xx, top-10, h+10,
			template.HTMLEscapeString(fmtTime(e.Time)), template.HTMLEscapeString(joinNonEmpty(" ", e.Op, e.IP)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
