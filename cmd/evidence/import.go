package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect/portal"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

// importOptions are import's flags.
type importOptions struct {
	out, bundle, caseID, examiner, note string
	lang                                string
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
import the files.`,
		Example: `  evidence import InteractiveSignIns_2026-11-13_2026-11-20.csv NonInteractiveSignIns_2026-11-13_2026-11-20.csv AuditLogs_2026-11-20.csv
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
	if o.note != "" {
		m.Warnings = append(m.Warnings, "note: "+o.note)
	}
	report := func(imp manifest.Import) {
		recs := "unknown"
		if imp.Records != nil {
			recs = fmt.Sprint(*imp.Records)
		}
		fmt.Fprintf(a.stderr, "  %-40s %-26s %8s records  %s .. %s  sha256 %s\n", imp.OriginalName, imp.Kind, recs, orDash(imp.First), orDash(imp.Last), imp.SHA256[:16])
	}
	res, err := pipeline.Run(ctx, pipeline.Plan{
		Out: o.out, Name: "evidence-" + started.Format(time.RFC3339) + "-" + caseID[:8], Manifest: m, Started: started, Now: nowf,
		Collectors: []pipeline.Collector{pipeline.Imports{Files: files, Report: report}},
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

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
