package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/portal"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

// importOptions are import's flags.
type importOptions struct {
	out, bundle, caseID, examiner, note string
	lang                                string
	users                               []string
	since, until                        string
	seal                                sealOptions // --sign-key, --tsa, --require-signature: as grab
	now                                 func() time.Time
}

func (a *app) importCmd() *cobra.Command {
	o := &importOptions{}
	cmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Seal files downloaded from the Entra admin center into a verifiable bundle",
		Long: `import seals files a person downloaded by hand, typically the sign-in logs
(any tab) and audit logs of the Microsoft Entra admin center as CSV or JSON,
into a bundle: the original bytes unchanged under imported/, each file's
SHA-256 as read at import time, who imported it and when, and what the file
holds (kind, record count, the time range it covers, and a warning when its
times are not UTC). The bundle is sealed like a grab: manifest, SHA256SUMS,
signature (--sign-key), time-stamp (--tsa), custody log and report.html;
then packed and verified.

This is the only path for the sign-in logs of tenants without Entra ID P1/P2,
whose logs Graph refuses: download every tab within the 7-day retention and
import the files.

--user, --since and --until check every record of the files against the
asked users (a UPN or an object id; give both to match files that carry only
one) and window: records outside are counted, split byte for byte into
<file>.out-of-scope.<ext> beside <file>.in-scope.<ext> (the original stays
as it was), and the exit code is 3. Without them the scope is "as
downloaded".`,
		Example: `  evidence import InteractiveSignIns_2026-11-13_2026-11-20.csv NonInteractiveSignIns_2026-11-13_2026-11-20.csv AuditLogs_2026-11-20.csv
  evidence import --user victim@contoso.com --user e7819a44-e7f5-5bbb-a46e-c010c59b2361 --since 2026-11-15 --until 2026-11-17 InteractiveSignIns_2026-11-13_2026-11-20.csv
  evidence import --case 3f2a9c1d-0000-4000-8000-000000000000 --examiner "J. Doe" --note "downloaded by the tenant admin on 2026-11-20" SignIns.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			path, code, err := a.runImport(cmd.Context(), o, files)
			if err != nil {
				return err
			}
			a.code = code
			fmt.Fprintln(a.stdout, path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.out, "out", ".", "directory the bundle is written to")
	f.StringVar(&o.bundle, "bundle", "tar", "bundle form: tar (a .tar.zst archive) or dir (the sealed directory only)")
	f.StringVar(&o.caseID, "case", "", "case id (a UUID); default a new random UUID")
	f.StringVar(&o.examiner, "examiner", "", "who imports, for the manifest; default the OS user")
	f.StringVar(&o.note, "note", "", "free text for the manifest, e.g. who downloaded the files and when")
	f.StringVar(&o.lang, "lang", "", langFlagHelp)
	f.StringArrayVar(&o.users, "user", nil, "keep apart records not of this user: a UPN or an object id (repeatable; give both to match files that carry only one)")
	f.StringVar(&o.since, "since", "", "keep apart records before this time: a duration back from now (30d, 2w, 36h), an RFC 3339 time or a date (UTC)")
	f.StringVar(&o.until, "until", "", "keep apart records at or after this time (exclusive end), same forms as --since; default now when --since is given")
	a.sealFlags(f, &o.seal)
	return cmd
}

// runImport builds the Plan of an import (the imported files as the only
// collector, no Graph connection) and runs it: sealed, signed, time-stamped,
// with custody and report.html, like a grab.
func (a *app) runImport(ctx context.Context, o *importOptions, files []string) (string, int, error) {
	nowf := o.now
	if nowf == nil {
		nowf = time.Now
	}
	started := nowf().UTC().Truncate(time.Second)
	var outputs []pipeline.Deliverer
	switch o.bundle {
	case "tar":
		outputs = []pipeline.Deliverer{pipeline.Tar{}}
	case "dir":
		outputs = []pipeline.Deliverer{pipeline.Dir{}}
	default:
		return "", 0, usageErr("--bundle %q: use tar or dir", o.bundle)
	}
	caseID := o.caseID
	if caseID == "" {
		caseID = uuid.NewString()
	} else if _, err := uuid.Parse(caseID); err != nil {
		return "", 0, usageErr("--case %q is not a UUID", o.caseID)
	}
	scope, err := importScope(o, nowf().UTC())
	if err != nil {
		return "", 0, err
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return "", 0, usageErr("%v", err)
		}
		if !st.Mode().IsRegular() {
			return "", 0, usageErr("%s is not a regular file", f)
		}
		if err := portal.SniffFile(f); err != nil {
			return "", 0, usageErr("import %s: %v", f, err)
		}
	}
	lang, err := reportLang(o.lang)
	if err != nil {
		return "", 0, err
	}
	if err := a.loadSigner(&o.seal); err != nil {
		return "", 0, err
	}
	m := a.header(caseID, o.examiner, started)
	m.Tenant = manifest.Tenant{GraphURL: "none: files imported by hand"}
	m.Auth = manifest.Auth{Method: "none (import)"}
	for _, u := range scope.Users {
		mu := manifest.User{Requested: u, ID: u}
		if strings.Contains(u, "@") {
			mu = manifest.User{Requested: u, UPN: u}
		}
		m.Users = append(m.Users, mu)
	}
	if o.note != "" {
		m.Warnings = append(m.Warnings, "note: "+o.note)
	}
	report := func(imp manifest.Import) {
		recs := "unknown"
		if imp.Records != nil {
			recs = fmt.Sprint(*imp.Records)
		}
		fmt.Fprintf(a.stderr, "  %-40s %-26s %8s records  %s .. %s  sha256 %s\n", imp.OriginalName, imp.Kind, recs, orDash(imp.First), orDash(imp.Last), imp.SHA256[:16])
		if imp.OutOfScope > 0 {
			fmt.Fprintf(a.stderr, "    %d records outside the asked user/window, kept apart in %s\n", imp.OutOfScope, imp.OutOfScopePath)
		}
	}
	res, err := pipeline.Run(ctx, pipeline.Plan{
		Out: o.out, Name: bundle.Name(started, caseID), Manifest: m, Started: started, Now: nowf,
		Collectors: []pipeline.Collector{pipeline.Imports{Files: files, Scope: scope, Report: report}},
		Seal:       a.sealPlan(&o.seal, []string{"import"}), Lang: lang, Readme: pipeline.ImportReadme,
		Outputs: outputs, Log: a.log, Stderr: a.stderr,
	})
	if err != nil {
		return "", 0, err
	}
	if o.bundle == "tar" {
		fmt.Fprintf(a.stderr, "  bundle SHA-256: %s\n", res.SHA256)
	}
	fmt.Fprintf(a.stderr, "  verified: %d files, %d bytes, every SHA-256 matches\n", res.Verified.Files, res.Verified.Bytes)
	if s := m.Seal; s != nil && s.KeyFingerprint != "" {
		fmt.Fprintf(a.stderr, "  signed: %s by key %s\n", manifest.SigName, s.KeyFingerprint)
	}
	code := ExitOK
	if res.Incomplete() {
		code = ExitIncomplete
	}
	return res.Path, code, nil
}

// importScope reads --user, --since and --until (the duration grammar of
// grab); none of them: the files are taken as downloaded.
func importScope(o *importOptions, now time.Time) (portal.Scope, error) {
	var sc portal.Scope
	for _, u := range o.users {
		u = strings.TrimSpace(u)
		if _, err := uuid.Parse(u); err != nil && !strings.Contains(u, "@") {
			return sc, usageErr("--user %q: give a UPN (name@domain) or an object id (a GUID); import has no Graph connection to look a name up", u)
		}
		sc.Users = append(sc.Users, u)
	}
	if o.since == "" && o.until == "" {
		return sc, nil
	}
	sc.Window.End = now
	if o.since != "" {
		t, err := collect.ParseWhen(o.since, now)
		if err != nil {
			return sc, usageErr("--since: %v", err)
		}
		sc.Window.Start = t
	}
	if o.until != "" {
		t, err := collect.ParseWhen(o.until, now)
		if err != nil {
			return sc, usageErr("--until: %v", err)
		}
		sc.Window.End = t
	}
	if !sc.Window.Start.Before(sc.Window.End) {
		return sc, usageErr("--until (%s) must be after --since (%s)", collect.FormatTime(sc.Window.End), collect.FormatTime(sc.Window.Start))
	}
	return sc, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
