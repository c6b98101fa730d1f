package main

import (
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/spf13/cobra"
)

func (a *app) importCmd() *cobra.Command {
	o := &pipeline.Import{}
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
			o.Files, o.Args, o.Tool, o.Log, o.Stderr = files, a.args, tool(), a.log, a.stderr
			res, err := pipeline.RunImport(cmd.Context(), *o)
			if err != nil {
				return err
			}
			a.code = a.grabResult(res).code
			return a.printResult("import", res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Out, "out", ".", "directory the bundle is written to")
	f.StringVar(&o.Bundle, "bundle", "tar", "bundle form: tar (a .tar.zst archive) or dir (the sealed directory only)")
	f.StringVar(&o.CaseID, "case", "", "case id (a UUID); default a new random UUID")
	f.StringVar(&o.Examiner, "examiner", "", "who imports, for the manifest; default the OS user")
	f.StringVar(&o.Note, "note", "", "free text for the manifest, e.g. who downloaded the files and when")
	f.StringVar(&o.Lang, "lang", "", langFlagHelp)
	f.StringArrayVar(&o.Users, "user", nil, "keep apart records not of this user: a UPN or an object id (repeatable; give both to match files that carry only one)")
	f.StringVar(&o.Since, "since", "", "keep apart records before this time: a duration back from now (30d, 2w, 36h), an RFC 3339 time or a date (UTC)")
	f.StringVar(&o.Until, "until", "", "keep apart records at or after this time (exclusive end), same forms as --since; default now when --since is given")
	a.sealFlags(f, &o.Seal)
	a.jsonFlag(f)
	return cmd
}
