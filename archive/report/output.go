package report

import (
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/evidence-dfir/evidence/manifest/durable"
)

// The page of an existing bundle (evidence report) is written outside it:
// the bundle is never changed.

// RefuseInside refuses an output path inside the bundle directory: writing
// there would change the bundle.
func RefuseInside(out, bundleDir string) error {
	if out == "" {
		out = "."
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	if real, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(real, filepath.Base(abs))
	}
	bd := bundleDir
	if real, err := filepath.EvalSymlinks(bundleDir); err == nil {
		bd = real
	}
	if rel, err := filepath.Rel(bd, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("-o %s is inside the bundle %s: the bundle is never changed; write the page elsewhere", out, bundleDir)
	}
	return nil
}

// LinkPrefix makes the page's links to the bundle's files work from where
// the page is written (out, "" for NAME.report.html here, "-" for stdout).
func LinkPrefix(out, name, bundleDir string) string {
	if out == "-" {
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(bundleDir) + "/"}).String()
	}
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

// WriteOut writes the page to out durably (or to stdout for "-"; "" is
// NAME.report.html here) and returns the path written, "" for stdout.
func WriteOut(out, name string, b []byte, stdout io.Writer) (string, error) {
	if out == "-" {
		_, err := stdout.Write(b)
		return "", err
	}
	if out == "" {
		out = name + ".report.html"
	}
	return out, durable.WriteBytes(out, 0o644, durable.Replace, b)
}
