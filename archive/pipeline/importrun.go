package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/portal"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/google/uuid"
)

// Import is one import as its command line gives it: the files a person
// downloaded, and the bundle they are sealed into.
type Import struct {
	Files    []string
	Out      string
	Bundle   string // tar or dir
	CaseID   string // "" for a new one
	Examiner string
	Note     string // free text for the manifest's warnings
	Lang     string
	// Users, Since and Until are the scope the files' records are checked
	// against (none: the files are taken as downloaded).
	Users        []string
	Since, Until string
	Seal         SealFlags

	Args   []string
	Tool   manifest.Tool
	Now    func() time.Time
	Log    *slog.Logger
	Stderr io.Writer // one line per file, then the verification
}

// RunImport checks i before anything is written, then runs the Plan of an
// import (the imported files as the only collector, no Graph connection):
// sealed, signed, time-stamped, with custody and report.html, like a grab.
func RunImport(ctx context.Context, i Import) (*Result, error) {
	nowf := i.Now
	if nowf == nil {
		nowf = time.Now
	}
	w := i.Stderr
	if w == nil {
		w = io.Discard
	}
	started := nowf().UTC().Truncate(time.Second)
	outputs, err := ImportOutputs(i.Bundle)
	if err != nil {
		return nil, err
	}
	caseID, err := CaseID(i.CaseID)
	if err != nil {
		return nil, err
	}
	scope, err := importScope(i, nowf().UTC())
	if err != nil {
		return nil, err
	}
	imports := Imports{Files: i.Files, Scope: scope}
	if err := imports.Check(); err != nil {
		return nil, err
	}
	lang, err := ReportLang(i.Lang)
	if err != nil {
		return nil, err
	}
	if err := i.Seal.Load(w); err != nil {
		return nil, err
	}
	m := Header(caseID, i.Examiner, started, i.Args, i.Tool)
	m.Tenant = manifest.Tenant{GraphURL: "none: files imported by hand"}
	m.Auth = manifest.Auth{Method: "none (import)"}
	for _, u := range scope.Users {
		mu := manifest.User{Requested: u, ID: u}
		if strings.Contains(u, "@") {
			mu = manifest.User{Requested: u, UPN: u}
		}
		m.Users = append(m.Users, mu)
	}
	if i.Note != "" {
		m.Warnings = append(m.Warnings, "note: "+i.Note)
	}
	imports.Report = func(imp manifest.Import) {
		recs := "unknown"
		if imp.Records != nil {
			recs = fmt.Sprint(*imp.Records)
		}
		fmt.Fprintf(w, "  %-40s %-26s %8s records  %s .. %s  sha256 %s\n", imp.OriginalName, imp.Kind, recs, orDash(imp.First), orDash(imp.Last), imp.SHA256[:16])
		if imp.OutOfScope > 0 {
			fmt.Fprintf(w, "    %d records outside the asked user/window, kept apart in %s\n", imp.OutOfScope, imp.OutOfScopePath)
		}
	}
	res, err := Run(ctx, Plan{
		Out: i.Out, Name: bundle.Name(started, caseID), Manifest: m, Started: started, Now: nowf,
		Collectors: []Collector{imports},
		Seal:       i.Seal.Plan([]string{"import"}), Lang: lang, Readme: ImportReadme,
		Outputs: outputs, Log: i.Log, Stderr: i.Stderr,
	})
	if err != nil {
		return nil, err
	}
	if i.Bundle == "tar" {
		fmt.Fprintf(w, "  bundle SHA-256: %s\n", res.SHA256)
	}
	fmt.Fprintf(w, "  verified: %d files, %d bytes, every SHA-256 matches\n", res.Verified.Files, res.Verified.Bytes)
	if s := m.Seal; s != nil && s.KeyFingerprint != "" {
		fmt.Fprintf(w, "  signed: %s by key %s\n", manifest.SigName, s.KeyFingerprint)
	}
	return res, nil
}

// importScope reads --user, --since and --until (the duration grammar of
// grab); none of them: the files are taken as downloaded.
func importScope(i Import, now time.Time) (portal.Scope, error) {
	var sc portal.Scope
	for _, u := range i.Users {
		u = strings.TrimSpace(u)
		if _, err := uuid.Parse(u); err != nil && !strings.Contains(u, "@") {
			return sc, usageErr("--user %q: give a UPN (name@domain) or an object id (a GUID); import has no Graph connection to look a name up", u)
		}
		sc.Users = append(sc.Users, u)
	}
	if i.Since == "" && i.Until == "" {
		return sc, nil
	}
	sc.Window.End = now
	if i.Since != "" {
		t, err := collect.ParseWhen(i.Since, now)
		if err != nil {
			return sc, usageErr("--since: %v", err)
		}
		sc.Window.Start = t
	}
	if i.Until != "" {
		t, err := collect.ParseWhen(i.Until, now)
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
