package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/spf13/cobra"
)

func (a *app) exportStatusCmd() *cobra.Command {
	var (
		stateSpec, nowSpec string
		skipBundles        bool
		auth               collect.AuthOptions
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each source's watermark, age and next expiry risk, and verify the bundle index chain",
		Long: `status reads an export's state and prints, for each source and scope, the
watermark (everything before it is sealed in a bundle or recorded as lost),
its age, what the tenant has already deleted and when the oldest data not
yet exported expires; then the number of bundles and the verification of
the hash-chained index, and re-hashes every bundle kept locally.

Exit codes: 0 all well; 3 some source's watermark is already older than
what the tenant keeps (the next run will record a loss); 4 the index chain
is broken or a bundle is missing or changed. status takes no lock and
changes nothing.`,
		Example: `  evidence export status --state /var/lib/evidence/contoso
  EVIDENCE_BLOB_SAS=... evidence export status --state https://ACCOUNT.blob.core.windows.net/evidence-state/contoso.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now().UTC().Truncate(time.Second)
			if nowSpec != "" {
				t, err := collect.ParseWhen(nowSpec, now)
				if err != nil {
					return usageErr("--now: %v", err)
				}
				now = t.UTC()
			}
			cred, credID, err := stateCredential(stateSpec, nil, auth)
			if err != nil {
				return err
			}
			store, err := openState(stateSpec, cred, credID, auth.Method)
			if err != nil {
				return err
			}
			st, err := state.Load(cmd.Context(), store)
			if err != nil {
				return failErr(err)
			}
			if st == nil {
				return usageErr("no export state in %s yet: run `evidence export --state %s ...` first", store, stateSpec)
			}
			a.code = printStatus(cmd.Context(), a.stdout, store, st, now, !skipBundles)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&stateSpec, "state", "", "the export's state: a directory, or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX")
	authFlags(f, &auth)
	f.BoolVar(&skipBundles, "skip-bundles", false, "do not re-hash the bundles, only check the index chain")
	f.StringVar(&nowSpec, "now", "", "evaluate ages at this RFC 3339 time instead of now")
	_ = f.MarkHidden("now")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}

// printStatus writes the report and returns the exit code.
func printStatus(_ context.Context, w io.Writer, store state.Store, st *state.State, now time.Time, checkBundles bool) int {
	code := ExitOK
	tier := st.Tier
	if tier == "" {
		tier = export.TierFree
	}
	tierName := map[string]string{export.TierFree: "Entra ID Free", export.TierPremium: "Entra ID P1/P2"}[tier]
	fmt.Fprintf(w, "State %s: tenant %s (%s), %s, updated %s\n", store, st.Tenant.Domain, st.Tenant.ID, tierName, st.Updated)
	names := make([]string, 0, len(st.Sources))
	for n := range st.Sources {
		names = append(names, n)
	}
	names = export.SortedSources(names)
	for _, name := range names {
		pol, known := export.Policies[name]
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
			if sc.Watermark == "" {
				fmt.Fprintf(w, "  %s: never completed; a run started at %s did not finish\n", label, sc.Edge.Start)
				continue
			}
			wm, err := time.Parse(time.RFC3339Nano, sc.Watermark)
			if err != nil {
				fmt.Fprintf(w, "  %s: unreadable watermark %q\n", label, sc.Watermark)
				code = max(code, ExitVerify)
				continue
			}
			line := fmt.Sprintf("  %s: last exported %s (%s ago)", label, shortTime(wm), export.Human(now.Sub(wm)))
			if known {
				ret := pol.Retention(tier)
				gone := now.Add(-ret)
				expires := wm.Add(ret)
				line += fmt.Sprintf("; data older than %s is already gone%s", shortTime(gone), export.TierNote(pol, tier))
				if wm.Before(gone) {
					line += fmt.Sprintf("; LOST: [%s, %s) is no longer kept: the next run records it as lost", shortTime(wm), shortTime(gone))
					code = max(code, ExitIncomplete)
				} else {
					line += fmt.Sprintf("; the oldest data not yet exported expires %s (in %s)", shortTime(expires), export.Human(expires.Sub(now)))
				}
			}
			fmt.Fprintln(w, line)
			var lostTotal time.Duration
			for _, g := range sc.Gaps {
				lostTotal += export.Span(g.Window)
			}
			if len(sc.Gaps) > 0 {
				fmt.Fprintf(w, "    %d lost interval(s) recorded, %s in all; the latest [%s, %s) in %s\n", len(sc.Gaps), export.Human(lostTotal),
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
	if p := st.Pending; p != nil {
		fmt.Fprintf(w, "Pending: %s was sealed by a run that stopped before recording it; the next run adopts it if it was published (content %s), or removes it and exports its interval again\n", p.Bundle, p.Content[:16])
	}
	fmt.Fprintf(w, "Index: %d bundles (%d incomplete)", len(st.Index), incomplete)
	if p := st.VerifyChain(); len(p) > 0 {
		fmt.Fprintln(w, "; CHAIN BROKEN:")
		for _, pr := range p {
			fmt.Fprintf(w, "  entry %d: %s\n", pr.Seq, pr.Reason)
		}
		code = ExitVerify
	} else if len(st.Index) > 0 {
		last := st.Index[len(st.Index)-1]
		fmt.Fprintf(w, ", chain intact, head %s; last %s [%s, %s)\n", st.Head()[:16], last.Bundle, last.Interval.Start, last.Interval.End)
	} else {
		fmt.Fprintln(w)
	}
	if checkBundles {
		checked, bad := 0, 0
		for _, e := range st.Index {
			if strings.Contains(e.Location, "://") {
				continue // published elsewhere: checked by its store's read-back
			}
			checked++
			if problem := checkBundle(e); problem != "" {
				fmt.Fprintf(w, "  bundle %d %s: %s\n", e.Seq, e.Bundle, problem)
				bad++
			}
		}
		if checked > 0 {
			if bad == 0 {
				fmt.Fprintf(w, "Bundles: %d kept locally, all present with the SHA-256 the index records\n", checked)
			} else {
				fmt.Fprintf(w, "Bundles: %d of %d kept locally are MISSING or CHANGED\n", bad, checked)
				code = ExitVerify
			}
		}
	}
	return code
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
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err.Error()
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 {
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
