package export

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
)

// Licence tiers as export sees them, in the licence probe's vocabulary:
// what matters is which logs Graph serves and how long they are kept.
const (
	TierFree    = collect.LicenseFree    // Entra ID Free: no sign-in logs through Graph, 7 days of audits
	TierPremium = collect.LicensePremium // Entra ID P1 or P2: sign-ins and audits, 30 days
)

// Policy is what export needs to know about a source: how long to wait
// before a window is considered settled, how far back to re-read for late
// records, and how long the service keeps it. Defaults and their sources
// are in docs/schedule.md.
type Policy struct {
	Settle, Overlap time.Duration
	PremiumOnly     bool // only licensed tenants have it (sign-ins)
	// Retention is how long the service keeps records; nil for a Whole
	// source. It returns 0 where export cannot know it (a workspace's or
	// a storage account's own setting): such a source's windows are never
	// clamped and no loss is recorded for it; a first --backfill run reads
	// Reach back.
	Retention func(tier string) time.Duration
	Reach     time.Duration
	// Align makes the watermark a multiple of it: the diagnostic-settings
	// archive copies whole hourly blobs, so its windows end on the hour.
	Align time.Duration
	// TenantScope: one scope for the tenant even with --user; the source
	// reads what the tenant holds and writes the users' filtered copies
	// itself (the diagnostic-settings archive's blobs are the tenant's).
	TenantScope bool
	// Whole marks a source of objects as they are now (snapshot, tenant,
	// signals), not events: every cycle reads it whole, and the bundle
	// holds what changed since the previous bundle (diff.json). It is not
	// the registry's collect.Descriptor.State, which says that a source's
	// windows are the times it read current state (snapshot, tenant):
	// signals is Whole for export but reads alerts by time window.
	Whole bool
}

// retentionOf reads source's row of collect's retention table.
func retentionOf(source string) func(tier string) time.Duration {
	return func(tier string) time.Duration { return collect.Retention(source, tier) }
}

// unknownRetention is the retention of a source whose records are kept as
// the customer configured (a workspace, a storage account).
func unknownRetention(string) time.Duration { return 0 }

// Policies by --sources name.
var Policies = map[string]Policy{
	"audits":       {Settle: 30 * time.Minute, Overlap: 12 * time.Hour, Retention: retentionOf("audits")},
	"signins":      {Settle: 30 * time.Minute, Overlap: 12 * time.Hour, Retention: retentionOf("signins"), PremiumOnly: true},
	"ual":          {Settle: 2 * time.Hour, Overlap: 72 * time.Hour, Retention: retentionOf("ual")},
	"messagetrace": {Settle: time.Hour, Overlap: 24 * time.Hour, Retention: retentionOf("messagetrace")},
	// A Log Analytics workspace: rows arrive minutes after the event
	// (Azure Monitor's ingestion time), Entra's own late records later:
	// the same settle and re-read as the sign-in and audit logs. Its
	// retention is the workspace's setting (30 days by default, 90 with
	// Microsoft Sentinel, up to 12 years).
	"workspace": {Settle: time.Hour, Overlap: 12 * time.Hour, Retention: unknownRetention, Reach: 90 * 24 * time.Hour},
	// The diagnostic-settings archive: hourly append blobs, written until
	// some time after their hour; whole hours, copied once each.
	"diagarchive": {Settle: 2 * time.Hour, Retention: unknownRetention, Reach: 90 * 24 * time.Hour, Align: time.Hour, TenantScope: true},
	"snapshot":    {Whole: true},
	"tenant":      {Whole: true},
	"signals":     {Whole: true},
}

// PolicyOf returns the policy of a state's source key: a --sources name
// or a collector of one (signins.interactive).
func PolicyOf(key string) (Policy, bool) {
	name, _, _ := strings.Cut(key, ".")
	p, ok := Policies[name]
	return p, ok
}

// DefaultSources is the default order: audits, sign-ins where
// licensed, the unified audit log, message trace.
var DefaultSources = []string{"audits", "signins", "ual", "messagetrace"}

// retentionMargin keeps the oldest hour out of a run: records at the very
// edge of retention may expire while the run is still paging.
const retentionMargin = time.Hour

// scopePlan is what one run does for one source and scope.
type scopePlan struct {
	source, scope string
	user          *collect.User // nil: tenant-wide
	prev          *state.Scope  // nil on the first run
	from          time.Time     // start of new data: the previous watermark (or the first run's start)
	readFrom      time.Time     // query start: from minus the overlap, not before the edge or retention
	to            time.Time     // the new watermark: now minus settle
	gap           *manifest.Gap // lost before from, or nil
	retention     time.Duration
	overlap       time.Duration
}

// planScope decides the window of one source and scope. first is the
// requested start of a first run (--since or --backfill), zero when neither
// was given.
func planScope(source, scope string, pol Policy, tier string, prev *state.Scope, now, first time.Time, backfill bool, settle, overlap time.Duration) (*scopePlan, error) {
	ret := pol.Retention(tier)
	var keptFrom time.Time // zero: no known retention, nothing is clamped
	if ret > 0 {
		keptFrom = now.Add(-ret + retentionMargin).Truncate(time.Second)
	}
	p := &scopePlan{source: source, scope: scope, prev: prev, retention: ret, overlap: overlap,
		to: now.Add(-settle).Truncate(time.Second)}
	if pol.Align > 0 {
		p.to = p.to.Truncate(pol.Align)
	}
	resumed := prev != nil && (prev.Watermark != "" || prev.Edge.Start != "")
	switch {
	case prev != nil && prev.Watermark != "":
		w, err := time.Parse(time.RFC3339Nano, prev.Watermark)
		if err != nil {
			return nil, fmt.Errorf("state: %s/%s watermark %q: %w", source, scope, prev.Watermark, err)
		}
		p.from = w
		p.readFrom = w.Add(-overlap)
	case resumed: // a first run that did not complete: start again where it started
		es, err := time.Parse(time.RFC3339Nano, prev.Edge.Start)
		if err != nil {
			return nil, fmt.Errorf("state: %s/%s edge start %q: %w", source, scope, prev.Edge.Start, err)
		}
		p.from, p.readFrom = es, es
	case backfill && ret > 0:
		p.from, p.readFrom = keptFrom, keptFrom
	case backfill:
		reach := now.Add(-pol.Reach).Truncate(time.Second)
		if pol.Align > 0 {
			reach = reach.Truncate(pol.Align)
		}
		p.from, p.readFrom = reach, reach
	case !first.IsZero():
		p.from, p.readFrom = first, first
	default:
		return nil, &UsageError{fmt.Errorf("%s has never been exported to this state: give --backfill (from the oldest data the tenant still keeps) or --since", source)}
	}
	if prev != nil && prev.Edge.Start != "" {
		if es, err := time.Parse(time.RFC3339Nano, prev.Edge.Start); err == nil && p.readFrom.Before(es) {
			p.readFrom = es // never re-read before what the edge has ids for
		}
	}
	if ret > 0 && p.from.Before(keptFrom) {
		p.gap = &manifest.Gap{Window: manifest.NewWindow(p.from, keptFrom), Scope: scope, Status: manifest.StatusClamped,
			Reason: fmt.Sprintf("older than the tenant's %s retention for %s%s: these records were deleted before this export reached them",
				days(ret), source, TierNote(pol, tier))}
		p.from = keptFrom
	}
	if ret > 0 && p.readFrom.Before(keptFrom) {
		p.readFrom = keptFrom
	}
	return p, nil
}

// empty reports a scope with nothing new to read: the watermark (or the
// re-read start) is already at the settled end.
func (p *scopePlan) empty() bool { return !p.readFrom.Before(p.to) || !p.from.Before(p.to) }

func TierNote(pol Policy, tier string) string {
	if pol.Retention(TierFree) == pol.Retention(TierPremium) {
		return ""
	}
	if tier == TierFree {
		return " on Entra ID Free"
	}
	return " on Entra ID P1/P2"
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d-day", d/(24*time.Hour))
	}
	return d.String()
}

// Human renders a duration for people: 2d1h30m.
func Human(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	d = d.Truncate(time.Minute)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if dd := d / (24 * time.Hour); dd > 0 {
		fmt.Fprintf(&b, "%dd", dd)
		d -= dd * 24 * time.Hour
	}
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 || b.Len() == 0 || (neg && b.Len() == 1) {
		fmt.Fprintf(&b, "%dm", m)
	}
	return b.String()
}

// ParseDurations reads SOURCE=DURATION overrides (--settle, --overlap).
func ParseDurations(flag string, vals []string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, v := range vals {
		name, d, ok := strings.Cut(v, "=")
		if !ok {
			return nil, &UsageError{fmt.Errorf("%s %q: want SOURCE=DURATION, e.g. audits=2h", flag, v)}
		}
		if _, known := Policies[name]; !known {
			return nil, &UsageError{fmt.Errorf("%s %q: unknown source %q", flag, v, name)}
		}
		dur, err := collect.ParseDuration(d)
		if err != nil {
			return nil, &UsageError{fmt.Errorf("%s %q: %w", flag, v, err)}
		}
		out[name] = dur
	}
	return out, nil
}

// SortedSources returns the names in DefaultSources order, then the rest
// in the registry's collection order.
func SortedSources(names []string) []string {
	rank := func(n string) int {
		if i := slices.Index(DefaultSources, n); i >= 0 {
			return i
		}
		d, _ := collect.LookupSource(n)
		return 1<<10 + d.Order
	}
	out := append([]string(nil), names...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// SelectSources returns the sources to export, in DefaultSources order,
// and which of them were named (--sources): none named means every
// default source this build registers, and each source that needs a flag
// (the workspace's --workspace, the archive's --diag-archive) whose flag
// given reports set. A name must have a Policy and a registered collector;
// a source's flags given while it is not selected are refused.
func SelectSources(named []string, given func(flag string) bool) ([]string, map[string]bool, error) {
	if given == nil {
		given = func(string) bool { return false }
	}
	explicit := map[string]bool{}
	var out []string
	if len(named) == 0 {
		for _, n := range DefaultSources {
			if _, ok := collect.LookupSource(n); ok {
				out = append(out, n)
			}
		}
		for _, d := range collect.Sources() {
			if _, ok := Policies[d.Name]; ok && d.Default == collect.WhenFlag && given(d.Flags[0]) {
				out = append(out, d.Name)
			}
		}
	}
	for _, n := range named {
		n = strings.TrimSpace(n)
		if _, ok := Policies[n]; !ok {
			return nil, nil, &UsageError{fmt.Errorf("--sources: unknown source %q (known: %s)", n, strings.Join(SortedSources(slices.Collect(maps.Keys(Policies))), ", "))}
		}
		if _, ok := collect.LookupSource(n); !ok {
			return nil, nil, &UsageError{fmt.Errorf("--sources: %s is not collected by this build yet", n)}
		}
		if !explicit[n] {
			out = append(out, n)
		}
		explicit[n] = true
	}
	for _, d := range collect.Sources() {
		for _, f := range d.Flags {
			if given(f) && !slices.Contains(out, d.Name) {
				return nil, nil, &UsageError{fmt.Errorf("--%s is for --sources %s, which this run does not export", f, d.Name)}
			}
		}
	}
	return SortedSources(out), explicit, nil
}

// ParseTier reads --tier: auto (ask Graph), free, premium (or p1, p2).
func ParseTier(s string) (string, error) {
	switch s {
	case "auto", TierFree, TierPremium:
		return s, nil
	case "p1", "p2":
		return TierPremium, nil
	}
	return "", &UsageError{fmt.Errorf("--tier %q: use auto, free or premium", s)}
}
