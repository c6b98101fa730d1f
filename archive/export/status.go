package export

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// Health is what WriteStatus found, worst first when compared with max.
type Health int

// Health values.
const (
	Healthy Health = iota // every watermark inside retention, chain intact, bundles present
	Losing                // some watermark is older than what the tenant keeps: the next run records a loss
	Broken                // the index chain is broken, a watermark unreadable, or a bundle missing or changed
)

// StatusReport is what WriteStatus found, for programs (`export status
// --json`, docs/cli.md): the same facts as the text, field by field.
type StatusReport struct {
	HealthName  string         `json:"health"` // healthy, losing, broken
	State       string         `json:"state"`
	Tenant      state.Tenant   `json:"tenant"`
	Tier        string         `json:"tier"`
	Updated     string         `json:"updated"`
	Sources     []StatusSource `json:"sources"`
	Pending     string         `json:"pending,omitempty"` // a bundle sealed by a run that stopped before recording it
	Bundles     int            `json:"bundles"`           // index entries
	Incomplete  int            `json:"incomplete"`        // index entries of incomplete bundles
	ChainIntact bool           `json:"chain_intact"`
	Head        string         `json:"head,omitempty"`
	Problems    []string       `json:"problems"` // chain, bundle and signature problems, one line each
	Checked     int            `json:"checked"`  // bundles kept locally that were re-hashed
	Orphans     []string       `json:"orphans"`
	Quarantined []string       `json:"quarantined"`
	Leftovers   []string       `json:"leftovers"`

	health Health
}

// StatusSource is one source and scope of a StatusReport.
type StatusSource struct {
	Source    string `json:"source"`
	Scope     string `json:"scope"`               // "tenant" or a user's id
	Watermark string `json:"watermark,omitempty"` // "" when never completed
	Status    string `json:"status"`              // ok, never-completed, unreadable, losing
	Gone      string `json:"gone,omitempty"`      // data older than this is already deleted by the tenant
	Expires   string `json:"expires,omitempty"`   // when the oldest data not yet exported expires
	Lost      int    `json:"lost_intervals"`      // lost intervals recorded
}

var healthNames = []string{"healthy", "losing", "broken"}

// Health is the report's health (its exit code: 0, 3 or 4).
func (r *StatusReport) Health() Health { return r.health }

// WriteStatus writes, for a person, each source's and scope's watermark, its
// age, what the tenant has already deleted and when the oldest data not yet
// exported expires; a pending cycle; the index and its chain; and, with
// checkBundles, the re-hash of every bundle kept locally.
//
// It also lists the bundles on disk that the index does not hold (Orphans,
// in the directories of the index's local bundles and in outs: Broken),
// those a run moved into QuarantineDir (Broken), and the work files
// interrupted runs left (Leftovers, which the next run removes).
//
// With trust (trusted keys, nil: none), every locally kept bundle's
// signature must be valid and by one of them (Broken otherwise).
func WriteStatus(w io.Writer, store fmt.Stringer, st *state.State, now time.Time, checkBundles bool, trust *seal.TrustedKeys, outs ...string) Health {
	return Report(w, store, st, now, checkBundles, trust, outs...).health
}

// Report is WriteStatus, also returning what it wrote as a StatusReport.
func Report(w io.Writer, store fmt.Stringer, st *state.State, now time.Time, checkBundles bool, trust *seal.TrustedKeys, outs ...string) (r *StatusReport) {
	return report(context.Background(), w, store, st, now, checkBundles, trust, nil, outs...)
}

// report is Report that also lists, under each of blobs (an export's
// --blob-url), the bundles the index does not hold (OrphanBlobs: Broken;
// a container that cannot be listed is a problem too, since nothing could
// be said about it).
func report(ctx context.Context, w io.Writer, store fmt.Stringer, st *state.State, now time.Time, checkBundles bool, trust *seal.TrustedKeys, blobs []*blob.Store, outs ...string) (r *StatusReport) {
	code := Healthy
	r = &StatusReport{State: store.String(), Tenant: st.Tenant, Updated: st.Updated, Problems: []string{}, Orphans: []string{}, Quarantined: []string{}, Leftovers: []string{}}
	defer func() { r.health = code; r.HealthName = healthNames[code] }()
	tier := st.Tier
	if tier == "" {
		tier = TierFree
	}
	r.Tier = tier
	tierName := map[string]string{TierFree: "Entra ID Free", TierPremium: "Entra ID P1/P2"}[tier]
	fmt.Fprintf(w, "State %s: tenant %s (%s), %s, updated %s\n", store, st.Tenant.Domain, st.Tenant.ID, tierName, st.Updated)
	names := make([]string, 0, len(st.Sources))
	for n := range st.Sources {
		names = append(names, n)
	}
	names = SortedSources(names)
	for _, name := range names {
		pol, known := PolicyOf(name)
		scopes := make([]string, 0, len(st.Sources[name].Scopes))
		for sc := range st.Sources[name].Scopes {
			scopes = append(scopes, sc)
		}
		sort.Strings(scopes)
		for _, scope := range scopes {
			sc := st.Sources[name].Scopes[scope]
			label := name
			if scope != state.ScopeTenant {
				label += " (user " + scope + ")"
			}
			ss := StatusSource{Source: name, Scope: scope, Watermark: sc.Watermark, Status: "ok", Lost: len(sc.Gaps)}
			if sc.Watermark == "" {
				ss.Status = "never-completed"
				r.Sources = append(r.Sources, ss)
				fmt.Fprintf(w, "  %s: never completed; a run started at %s did not finish\n", label, sc.Edge.Start)
				continue
			}
			wm, err := time.Parse(time.RFC3339Nano, sc.Watermark)
			if err != nil {
				fmt.Fprintf(w, "  %s: unreadable watermark %q\n", label, sc.Watermark)
				ss.Status = "unreadable"
				r.Sources = append(r.Sources, ss)
				code = max(code, Broken)
				continue
			}
			line := fmt.Sprintf("  %s: last exported %s (%s ago)", label, shortTime(wm), Human(now.Sub(wm)))
			if known && pol.Whole {
				line = fmt.Sprintf("  %s: last read whole %s (%s ago); each bundle holds what changed since the one before", label, shortTime(wm), Human(now.Sub(wm)))
			}
			if known && !pol.Whole && pol.Retention(tier) == 0 {
				line += "; kept as long as the workspace or storage account is set to keep it (export cannot tell)"
			} else if known && !pol.Whole {
				ret := pol.Retention(tier)
				gone := now.Add(-ret)
				expires := wm.Add(ret)
				ss.Gone, ss.Expires = manifest.FormatTime(gone), manifest.FormatTime(expires)
				line += fmt.Sprintf("; data older than %s is already gone%s", shortTime(gone), TierNote(pol, tier))
				if wm.Before(gone) {
					line += fmt.Sprintf("; LOST: [%s, %s) is no longer kept: the next run records it as lost", shortTime(wm), shortTime(gone))
					code = max(code, Losing)
					ss.Status = "losing"
				} else {
					line += fmt.Sprintf("; the oldest data not yet exported expires %s (in %s)", shortTime(expires), Human(expires.Sub(now)))
				}
			}
			fmt.Fprintln(w, line)
			r.Sources = append(r.Sources, ss)
			var lostTotal time.Duration
			for _, g := range sc.Gaps {
				lostTotal += Span(g.Window)
			}
			if len(sc.Gaps) > 0 {
				fmt.Fprintf(w, "    %d lost interval(s) recorded, %s in all; the latest [%s, %s) in %s\n", len(sc.Gaps), Human(lostTotal),
					sc.Gaps[len(sc.Gaps)-1].Start, sc.Gaps[len(sc.Gaps)-1].End, sc.Gaps[len(sc.Gaps)-1].Bundle)
			}
		}
	}
	incomplete := 0
	for _, e := range st.Index {
		if !e.Complete {
			incomplete++
		}
	}
	r.Bundles, r.Incomplete = len(st.Index), incomplete
	if p := st.Pending; p != nil {
		r.Pending = p.Bundle
		fmt.Fprintf(w, "Pending: %s was sealed by a run that stopped before recording it; the next run adopts it if it was published (content %s), or removes it and exports its interval again\n", p.Bundle, p.Content[:16])
	}
	fmt.Fprintf(w, "Index: %d bundles (%d incomplete)", len(st.Index), incomplete)
	if p := st.VerifyChain(); len(p) > 0 {
		fmt.Fprintln(w, "; CHAIN BROKEN:")
		for _, pr := range p {
			fmt.Fprintf(w, "  entry %d: %s\n", pr.Seq, pr.Reason)
			r.Problems = append(r.Problems, fmt.Sprintf("index entry %d: %s", pr.Seq, pr.Reason))
		}
		code = Broken
	} else if len(st.Index) > 0 {
		last := st.Index[len(st.Index)-1]
		r.ChainIntact, r.Head = true, st.Head()
		fmt.Fprintf(w, ", chain intact, head %s; last %s [%s, %s)\n", st.Head()[:16], last.Bundle, last.Interval.Start, last.Interval.End)
	} else {
		r.ChainIntact = true
		fmt.Fprintln(w)
	}
	if checkBundles {
		checked, bad := 0, 0
		for _, e := range st.Index {
			if strings.Contains(e.Location, "://") {
				continue // published elsewhere: checked by its store's read-back
			}
			checked++
			problem := checkBundle(e)
			if problem == "" && trust.Len() > 0 {
				problem = checkSigner(e.Location, trust, now)
			}
			if problem != "" {
				fmt.Fprintf(w, "  bundle %d %s: %s\n", e.Seq, e.Bundle, problem)
				r.Problems = append(r.Problems, fmt.Sprintf("bundle %d %s: %s", e.Seq, e.Bundle, problem))
				bad++
			}
		}
		r.Checked = checked
		if checked > 0 {
			signed := ""
			if trust.Len() > 0 {
				signed = ", each signed by a trusted key (" + trust.Source + ")"
			}
			if bad == 0 {
				fmt.Fprintf(w, "Bundles: %d kept locally, all present with the SHA-256 the index records%s\n", checked, signed)
			} else {
				fmt.Fprintf(w, "Bundles: %d of %d kept locally are MISSING, CHANGED or not signed by a trusted key\n", bad, checked)
				code = Broken
			}
		}
	}
	dirs := localDirs(st)
	for _, o := range outs {
		if o != "" && !slices.Contains(dirs, filepath.Clean(o)) {
			dirs = append(dirs, filepath.Clean(o))
		}
	}
	orphans, err := Orphans(st, dirs...)
	switch {
	case err != nil:
		fmt.Fprintf(w, "Orphans: could not be listed: %v\n", err)
		r.Problems = append(r.Problems, fmt.Sprintf("orphans could not be listed: %v", err))
		code = Broken
	case len(orphans) > 0:
		fmt.Fprintf(w, "Orphans: %d bundle(s) on disk that the index does not hold: the next run adopts each one this export sealed as the next link of its chain, and moves the others into %s/ beside them\n", len(orphans), QuarantineDir)
		for _, o := range orphans {
			fmt.Fprintf(w, "  %s\n", o)
		}
		r.Orphans = append(r.Orphans, orphans...)
		code = Broken
	}
	for _, b := range blobs {
		ts, err := OrphanBlobs(ctx, st, b)
		if err != nil {
			fmt.Fprintf(w, "Orphans in %s: could not be listed (the credential needs the List permission): %v\n", b.Target(), err)
			r.Problems = append(r.Problems, fmt.Sprintf("orphans in %s could not be listed: %v", b.Target(), err))
			code = Broken
			continue
		}
		if len(ts) == 0 {
			continue
		}
		fmt.Fprintf(w, "Orphans in %s: %d bundle(s) that the index does not hold: a blob is never moved or overwritten; the first run of a fresh state adopts those it sealed as the first links of its chain, and names the others\n", b.Target(), len(ts))
		for _, t := range ts {
			fmt.Fprintf(w, "  %s\n", t)
			r.Orphans = append(r.Orphans, t.String())
		}
		code = Broken
	}
	if q := QuarantinedBundles(dirs...); len(q) > 0 {
		fmt.Fprintf(w, "Quarantined: %d bundle(s) a run found without an index entry and did not adopt, moved aside: inspect each, then remove it\n", len(q))
		for _, b := range q {
			fmt.Fprintf(w, "  %s: %s\n", b.To, b.Reason)
			r.Quarantined = append(r.Quarantined, b.To)
		}
		code = Broken
	}
	var left []string
	for _, out := range dirs {
		l, _ := Leftovers(out, "", st)
		left = append(left, l...)
	}
	l, _ := Leftovers("", stateDir(store), st)
	left = append(left, l...)
	r.Leftovers = append(r.Leftovers, left...)
	if len(left) > 0 {
		fmt.Fprintf(w, "Leftovers: %d work file(s) of interrupted runs, removed by the next run: %s\n", len(left), strings.Join(left, ", "))
	}
	return r
}

// checkSigner checks that the bundle at p (a directory or an archive) is
// signed by one of the trusted keys, at now; "" when it is.
func checkSigner(p string, trust *seal.TrustedKeys, now time.Time) string {
	files := map[string][]byte{}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		for _, n := range []string{manifest.SumsName, manifest.SigName} {
			if b, err := os.ReadFile(filepath.Join(p, n)); err == nil {
				files[n] = b
			}
		}
	} else {
		f, err := os.Open(p)
		if err != nil {
			return err.Error()
		}
		defer f.Close()
		err = archive.Walk(f, func(name string, r io.Reader) error {
			if name == manifest.SumsName || name == manifest.SigName {
				b, err := io.ReadAll(io.LimitReader(r, 64<<20))
				files[name] = b
				return err
			}
			return nil
		})
		if err != nil {
			return err.Error()
		}
	}
	sig, ok := files[manifest.SigName]
	if !ok {
		return "UNSIGNED, and trusted keys were given"
	}
	c := seal.CheckSums(files[manifest.SumsName], sig, trust, now)
	switch {
	case !c.Valid:
		return "signature INVALID: " + c.Error
	case !c.Trusted:
		return "signature UNTRUSTED: by key " + c.Fingerprint + ", " + c.Untrusted
	}
	return ""
}

func checkBundle(e state.Entry) string {
	f, err := os.Open(e.Location)
	if os.IsNotExist(err) {
		return "MISSING at " + e.Location
	}
	if err != nil {
		return err.Error()
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() { // --bundle dir: the SHA-256 of its SHA256SUMS
		f.Close()
		got, err := pipeline.DirSHA256(e.Location)
		switch {
		case err != nil:
			return err.Error()
		case got != e.SHA256:
			return "CHANGED: SHA256SUMS has SHA-256 " + got + ", the index records " + e.SHA256
		}
		return ""
	}
	f.Close()
	got, _, err := pipeline.ReadPublished(context.Background(), pipeline.Published{Path: e.Location}, func(io.Reader) error { return nil })
	switch {
	case err != nil:
		return err.Error()
	case got != e.SHA256:
		return "CHANGED: SHA-256 " + got + ", the index records " + e.SHA256
	}
	return ""
}

// shortTime renders t as in "2026-11-23T06:00Z" (seconds only when needed).
func shortTime(t time.Time) string {
	t = t.UTC()
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04Z")
	}
	return manifest.FormatTime(t)
}

// StatusOptions are export status's options.
type StatusOptions struct {
	State       string              // --state
	Auth        collect.AuthOptions // for a blob state without a storage credential in the environment
	SkipBundles bool                // --skip-bundles: only the index chain
	Out         string              // --out: searched for orphans besides the index's directories
	BlobURL     string              // --blob-url: the export's blob container (and prefix), listed for orphans
	TrustedKeys []string            // --trusted-keys (default $EVIDENCE_TRUSTED_KEYS)
	Now         string              // --now: evaluate ages at this time (tests)
}

// Status opens the state without taking its lock, writes its status to w
// (WriteStatus) and returns its health. Bad options and a state that does
// not exist yet are *UsageError.
func (o StatusOptions) Status(ctx context.Context, w io.Writer) (Health, error) {
	r, err := o.Report(ctx, w)
	if err != nil {
		return Healthy, err
	}
	return r.Health(), nil
}

// Report is Status, also returning the StatusReport (for --json, with w
// io.Discard).
func (o StatusOptions) Report(ctx context.Context, w io.Writer) (*StatusReport, error) {
	now := time.Now().UTC().Truncate(time.Second)
	if o.Now != "" {
		t, err := collect.ParseWhen(o.Now, now)
		if err != nil {
			return nil, &UsageError{fmt.Errorf("--now: %w", err)}
		}
		now = t.UTC()
	}
	cred, credID, err := StateCredential(o.State, nil, o.Auth)
	if err != nil {
		return nil, err
	}
	store, err := OpenState(o.State, cred, credID, o.Auth.Method)
	if err != nil {
		return nil, err
	}
	st, err := state.Load(ctx, store)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, &UsageError{fmt.Errorf("no export state in %s yet: run `evidence export --state %s ...` first", store, o.State)}
	}
	trust, err := seal.LoadTrust(o.TrustedKeys, os.Getenv(seal.EnvTrustedKeys), nil)
	if err != nil {
		return nil, &UsageError{err}
	}
	var blobs []*blob.Store
	if o.BlobURL != "" {
		t, err := blob.ParseURL(o.BlobURL)
		if err != nil {
			return nil, &UsageError{fmt.Errorf("--blob-url: %w", err)}
		}
		if env, _ := blob.EnvCredentials(); cred == nil && !env.FromEnv() && o.Auth.Method != "" && o.Auth.Method != "token" {
			if cred, credID, err = collect.Credential(o.Auth); err != nil {
				return nil, &UsageError{err}
			}
		}
		s, err := pipeline.OpenStore(t, cred, credID, o.Auth.Method)
		if err != nil {
			return nil, &UsageError{fmt.Errorf("--blob-url: %v", err)}
		}
		blobs = append(blobs, s)
	}
	return report(ctx, w, store, st, now, !o.SkipBundles, trust, blobs, o.Out), nil
}
