package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/report"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/cobra"
)

// langFlagHelp documents --lang for every command that writes the page.
var langFlagHelp = "language of report.html: " + strings.Join(report.Languages, " or ") + " (default from LC_ALL, LC_MESSAGES or LANG; English otherwise)"

// reportLang checks --lang and applies the default.
func reportLang(lang string) (string, error) {
	if lang == "" {
		return report.DefaultLang(), nil
	}
	if !report.ValidLang(lang) {
		return "", usageErr("--lang %q: use %s", lang, strings.Join(report.Languages, " or "))
	}
	return lang, nil
}

func (a *app) reportCmd() *cobra.Command {
	var out, lang string
	cmd := &cobra.Command{
		Use:   "report BUNDLE",
		Short: "Render report.html again from a bundle (directory or .tar.zst), without changing it",
		Long: `report verifies a bundle, reads its manifest and record files once (streaming,
in bounded memory) and writes the handoff page: the case, what is complete
and what is missing, a timeline of sign-ins, audits, unified audit log
operations and message traces with the events a responder looks for
highlighted, sign-ins by IP, country and app, the snapshot's findings, and
how to verify the bundle. The page loads nothing from the network.

The bundle is only read. The page is written to -o (default
NAME.report.html in the current directory; "-" for stdout) and its path is
printed on stdout. A bundle that does not verify still gets a page, with the
problems at the top, and the exit code is 4.`,
		Example: `  evidence report evidence-2026-11-25T01:56:00Z-3f2a9c1d.tar.zst
  evidence report --lang ja -o /cases/42/report-ja.html ./evidence-2026-11-25T01:56:00Z-3f2a9c1d`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lang, err := reportLang(lang)
			if err != nil {
				return err
			}
			return a.report(args[0], out, lang)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", `file to write ("-" for stdout); default NAME.report.html in the current directory`)
	cmd.Flags().StringVar(&lang, "lang", "", langFlagHelp)
	return cmd
}

// report renders the page of the bundle at p into out.
func (a *app) report(p, out, lang string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return usageErr("report: %v", err)
	}
	res, err := verifyPath(p)
	if err != nil {
		return err
	}
	an := report.NewAnalyzer()
	var (
		mbytes, sums []byte
		names        []string
		name         string
		o            = report.Options{Lang: lang}
	)
	keep := func(r io.Reader) ([]byte, error) {
		return io.ReadAll(io.LimitReader(r, 64<<20))
	}
	if fi.IsDir() {
		abs, err := filepath.Abs(p)
		if err != nil {
			return failErr(err)
		}
		name = filepath.Base(abs)
		err = report.FeedDir(an, abs, func(rel string) { names = append(names, rel) })
		if err != nil {
			return failErr(fmt.Errorf("report %s: %w", p, err))
		}
		if mbytes, err = os.ReadFile(filepath.Join(abs, manifest.ManifestName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return failErr(err)
		}
		if sums, err = os.ReadFile(filepath.Join(abs, manifest.SumsName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return failErr(err)
		}
		o.Signature = signatureState(names, func(n string) []byte {
			b, _ := os.ReadFile(filepath.Join(abs, n))
			return b
		})
		if out != "-" {
			if err := refuseInside(out, abs); err != nil {
				return err
			}
			o.LinkPrefix = linkPrefix(out, name, abs)
		} else {
			o.LinkPrefix = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs) + "/"}).String()
		}
	} else {
		name = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), ".zst"), ".tar")
		f, err := os.Open(p)
		if err != nil {
			return failErr(err)
		}
		defer f.Close()
		h := sha256.New()
		tee := io.TeeReader(f, h)
		sigs := map[string][]byte{}
		err = archive.Walk(tee, func(rel string, r io.Reader) error {
			names = append(names, rel)
			var err error
			switch {
			case rel == manifest.ManifestName:
				mbytes, err = keep(r)
			case rel == manifest.SumsName:
				sums, err = keep(r)
			case strings.HasPrefix(rel, manifest.SumsName+"."):
				sigs[rel], err = keep(r)
			case report.Wants(rel):
				err = an.Feed(rel, r)
			}
			return err
		})
		if err != nil {
			return &exitError{code: ExitVerify, err: fmt.Errorf("report %s: %w", p, err)}
		}
		if _, err := io.Copy(h, f); err != nil {
			return failErr(err)
		}
		o.ArchiveSHA256 = hex.EncodeToString(h.Sum(nil))
		o.Signature = signatureState(names, func(n string) []byte { return sigs[n] })
		o.NoLinks = true
	}
	if mbytes == nil {
		return &exitError{code: ExitVerify, err: fmt.Errorf("report %s: no %s: not a bundle", p, manifest.ManifestName)}
	}
	var m manifest.Manifest
	if err := json.Unmarshal(mbytes, &m); err != nil {
		return &exitError{code: ExitVerify, err: fmt.Errorf("report %s: %s: %w", p, manifest.ManifestName, err)}
	}
	if sums != nil {
		s := sha256.Sum256(sums)
		o.SumsSHA256 = hex.EncodeToString(s[:])
	}
	o.Integrity = &report.Integrity{OK: res.OK(), Files: res.Files, Bytes: res.Bytes}
	for _, pr := range res.Problems {
		o.Integrity.Problems = append(o.Integrity.Problems, pr.String())
	}
	ver, _, _ := buildInfo()
	o.BundleName, o.Renderer, o.Rendered = name, "evidence "+ver, time.Now().UTC()

	var buf bytes.Buffer
	if err := report.Render(&buf, &m, an, o); err != nil {
		return failErr(err)
	}
	path, err := writeOut(out, name, buf.Bytes(), a.stdout)
	if err != nil {
		return failErr(err)
	}
	if path != "" {
		fmt.Fprintln(a.stdout, path)
	}
	if !res.OK() {
		fmt.Fprintf(a.stderr, "evidence: the bundle does not verify: %s (the page says so at the top)\n", describeProblems(res))
		a.code = ExitVerify
	}
	return nil
}

// refuseInside refuses an output path inside the bundle directory: writing
// there would change the bundle.
func refuseInside(out, bundleDir string) error {
	if out == "" {
		out = "."
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return usageErr("-o: %v", err)
	}
	if real, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(real, filepath.Base(abs))
	}
	bd := bundleDir
	if real, err := filepath.EvalSymlinks(bundleDir); err == nil {
		bd = real
	}
	if rel, err := filepath.Rel(bd, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return usageErr("-o %s is inside the bundle %s: the bundle is never changed; write the page elsewhere", out, bundleDir)
	}
	return nil
}

// linkPrefix makes the page's links to the bundle's files work from where
// the page is written.
func linkPrefix(out, name, bundleDir string) string {
	target := out
	if target == "" {
		target = name + ".report.html"
	}
	dir, err := filepath.Abs(filepath.Dir(target))
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(dir, bundleDir)
	if err != nil {
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(bundleDir) + "/"}).String()
	}
	// "./" keeps a first segment holding ':' (the bundle name's time) from
	// reading as a URL scheme.
	return "./" + (&url.URL{Path: filepath.ToSlash(rel) + "/"}).EscapedPath()
}

// writeOut writes the page to out atomically (or to stdout for "-") and
// returns the path written, "" for stdout.
func writeOut(out, name string, b []byte, stdout io.Writer) (string, error) {
	if out == "-" {
		_, err := stdout.Write(b)
		return "", err
	}
	if out == "" {
		out = name + ".report.html"
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.partial")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return out, os.Rename(tmp.Name(), out)
}

// signatureState says whether the bundle carries a signature. It does not
// check it (evidence verify does): a signature file is reported as present,
// with the fingerprint of the key it names, as ssh-keygen -lf prints it.
func signatureState(names []string, read func(string) []byte) report.Signature {
	if !slices.Contains(names, manifest.SigName) {
		return report.Signature{State: report.SigUnsigned}
	}
	fp, err := seal.SignatureKey(read(manifest.SigName))
	if err != nil {
		return report.Signature{State: report.SigInvalid, File: manifest.SigName}
	}
	return report.Signature{State: report.SigPresent, File: manifest.SigName, Key: fp}
}
