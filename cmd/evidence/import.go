package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/portal"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

// importOptions are import's flags.
type importOptions struct {
	out, bundle, caseID, examiner, note string
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
times are not UTC). The bundle is sealed, packed and verified like a grab.

This is the only path for the sign-in logs of tenants without Entra ID P1/P2,
whose logs Graph refuses: download every tab within the 7-day retention and
import the files.`,
		Example: `  evidence import InteractiveSignIns_2026-11-13_2026-11-20.csv NonInteractiveSignIns_2026-11-13_2026-11-20.csv AuditLogs_2026-11-20.csv
  evidence import --case 3f2a9c1d-0000-4000-8000-000000000000 --examiner "J. Doe" --note "downloaded by the tenant admin on 2026-11-20" SignIns.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			path, code, err := a.runImport(o, files)
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
	return cmd
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// runImport writes, seals, packs and verifies an import bundle.
func (a *app) runImport(o *importOptions, files []string) (string, int, error) {
	nowf := o.now
	if nowf == nil {
		nowf = time.Now
	}
	started := nowf().UTC().Truncate(time.Second)
	if o.bundle != "tar" && o.bundle != "dir" {
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
	}
	examiner := o.examiner
	if examiner == "" {
		examiner = osUser()
	}
	name := "evidence-" + started.Format(time.RFC3339) + "-" + caseID[:8]
	stage, err := bundle.Create(o.out, name)
	if err != nil {
		return "", 0, failErr(err)
	}
	committed := false
	defer func() {
		if !committed {
			stage.Abort()
		}
	}()
	ver, commit, gover := buildInfo()
	m := &manifest.Manifest{
		Format:          manifest.Format,
		CaseID:          caseID,
		Tool:            manifest.Tool{Name: "evidence", Version: ver, Commit: commit, GoVersion: gover},
		Examiner:        examiner,
		Host:            hostname(),
		OSUser:          osUser(),
		Tenant:          manifest.Tenant{GraphURL: "none: files imported by hand"},
		Auth:            manifest.Auth{Method: "none (import)"},
		CommandLine:     redactArgs(a.args),
		CollectionStart: manifest.FormatTime(started),
		Sources:         []manifest.Source{},
	}
	if o.note != "" {
		m.Warnings = append(m.Warnings, "note: "+o.note)
	}
	used := map[string]bool{}
	var first, last time.Time
	complete := true
	for _, f := range files {
		imp, err := importFile(stage, f, used)
		if err != nil {
			return "", 0, failErr(err)
		}
		imp.ImportedBy = examiner + " (OS user " + m.OSUser + " on " + m.Host + ")"
		imp.ImportedAt = m.CollectionStart
		sum, perr := summarise(stage, imp.Path, imp.OriginalName)
		if perr != nil {
			complete = false
			imp.Kind = portal.KindUnknown
			imp.Warnings = append(imp.Warnings, "records could not be read: "+perr.Error())
		} else {
			imp.Kind, imp.Format, imp.TimeColumn, imp.Warnings = sum.Kind, sum.Format, sum.TimeCol, sum.Warnings
			n := sum.Records
			imp.Records = &n
			if !sum.First.IsZero() {
				imp.First, imp.Last = manifest.FormatTime(sum.First), manifest.FormatTime(sum.Last)
				if first.IsZero() || sum.First.Before(first) {
					first = sum.First
				}
				if sum.Last.After(last) {
					last = sum.Last
				}
			}
		}
		for _, w := range imp.Warnings {
			m.Warnings = append(m.Warnings, imp.OriginalName+": "+w)
			a.log.Warn("import", "file", imp.OriginalName, "warning", w)
		}
		recs := "unknown"
		if imp.Records != nil {
			recs = fmt.Sprint(*imp.Records)
		}
		fmt.Fprintf(a.stderr, "  %-40s %-26s %8s records  %s .. %s  sha256 %s\n", imp.OriginalName, imp.Kind, recs, orDash(imp.First), orDash(imp.Last), imp.SHA256[:16])
		m.Imports = append(m.Imports, imp)
	}
	if !first.IsZero() {
		m.Requested = manifest.NewWindow(first, last.Add(collect.Tick))
	}
	m.Complete = complete
	if !complete {
		m.Warnings = append(m.Warnings, "incomplete: at least one imported file could not be read for its records; its bytes are sealed as they were")
	}
	m.CollectionEnd = manifest.FormatTime(nowf())
	if err := writeImportReadme(stage, m); err != nil {
		return "", 0, failErr(err)
	}
	if err := stage.Seal(m); err != nil {
		return "", 0, failErr(err)
	}
	dir, err := stage.Commit()
	if err != nil {
		return "", 0, failErr(err)
	}
	committed = true
	code := ExitOK
	if !complete {
		code = ExitIncomplete
	}
	var res *manifest.Result
	path := dir
	if o.bundle == "tar" {
		p, sum, err := packTar(dir, name, started)
		if err != nil {
			return "", 0, failErr(fmt.Errorf("bundle sealed in %s, but archiving failed: %w", dir, err))
		}
		path = p
		if res, err = archive.VerifyTarZst(p); err != nil {
			return "", 0, &exitError{code: ExitVerify, err: err}
		}
		if res.OK() {
			if err := os.RemoveAll(dir); err != nil {
				return "", 0, failErr(err)
			}
		}
		fmt.Fprintf(a.stderr, "  bundle SHA-256: %s\n", sum)
	} else if res, err = manifest.VerifyDir(dir); err != nil {
		return "", 0, &exitError{code: ExitVerify, err: err}
	}
	if !res.OK() {
		return "", 0, &exitError{code: ExitVerify, err: fmt.Errorf("the bundle just written does not verify: %s", describeProblems(res))}
	}
	fmt.Fprintf(a.stderr, "  verified: %d files, %d bytes, every SHA-256 matches\n", res.Files, res.Bytes)
	return path, code, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// importFile copies one file into the bundle byte for byte, hashing what
// it reads.
func importFile(stage *bundle.Stage, src string, used map[string]bool) (manifest.Import, error) {
	f, err := os.Open(src)
	if err != nil {
		return manifest.Import{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return manifest.Import{}, err
	}
	base := filepath.Base(src)
	safe := strings.Trim(unsafeName.ReplaceAllString(base, "_"), ".")
	if safe == "" {
		safe = "file"
	}
	rel := "imported/" + safe
	for i := 2; used[rel]; i++ {
		rel = fmt.Sprintf("imported/%d-%s", i, safe)
	}
	used[rel] = true
	media := "application/octet-stream"
	switch strings.ToLower(filepath.Ext(base)) {
	case ".csv":
		media = bundle.MediaCSV
	case ".json":
		media = bundle.MediaJSON
	}
	w, err := stage.Create(rel, "import", media)
	if err != nil {
		return manifest.Import{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), f)
	if err != nil {
		return manifest.Import{}, fmt.Errorf("importing %s: %w", src, err)
	}
	abs, _ := filepath.Abs(src)
	return manifest.Import{
		Path: rel, OriginalName: base, OriginalPath: abs, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)),
		Modified: manifest.FormatTime(st.ModTime().UTC().Truncate(time.Second)),
	}, nil
}

// summarise reads the copy in the bundle, so the summary is of the sealed
// bytes.
func summarise(stage *bundle.Stage, rel, name string) (*portal.Summary, error) {
	if err := stage.Flush(rel); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(stage.Dir(), filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return portal.Read(f, name)
}

// writeImportReadme explains an import bundle in plain words.
func writeImportReadme(stage *bundle.Stage, m *manifest.Manifest) error {
	w, err := stage.Create(manifest.ReadmeName, "", bundle.MediaText)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Evidence bundle (imported files)\n================================\n\nCase:      %s\nImported:  %s by %s on %s\nTool:      %s %s\n\n",
		m.CaseID, m.CollectionStart, m.Examiner, m.Host, m.Tool.Name, m.Tool.Version)
	b.WriteString("These files were downloaded by a person (e.g. from the Microsoft Entra admin\ncenter) and sealed here byte for byte, under imported/. manifest.json\n(\"imports\") records each file's original name, its SHA-256 when it was\nimported, who imported it and when, and what it holds:\n\n")
	for _, i := range m.Imports {
		recs := "unknown"
		if i.Records != nil {
			recs = fmt.Sprint(*i.Records)
		}
		fmt.Fprintf(&b, "  %s\n    %s, %s records, %s .. %s (UTC)\n", i.Path, i.Kind, recs, orDash(i.First), orDash(i.Last))
		for _, w := range i.Warnings {
			fmt.Fprintf(&b, "    WARNING: %s\n", w)
		}
	}
	b.WriteString("\nHow to check it has not changed\n-------------------------------\nInside this folder:   sha256sum -c SHA256SUMS\nOr:                   evidence verify <this folder or the .tar.zst archive>\n\nThe hashes prove the files have not changed since they were imported; they\ncannot prove what happened to them before.\n")
	_, err = io.WriteString(w, b.String())
	return err
}
