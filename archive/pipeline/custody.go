package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// CustodyLogFor returns the custody log to append to for the bundle at
// p, after checking that the log is intact and bound to the bundle's seal.
// For an archive whose log beside it is absent, the log is started from the
// one sealed inside the archive.
func CustodyLogFor(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", usageErr("custody: %v", err)
	}
	var sums, inner []byte
	switch {
	case fi.IsDir():
		if sums, err = os.ReadFile(filepath.Join(p, manifest.SumsName)); err != nil {
			return "", usageErr("custody: %s is not a sealed bundle: %v", p, err)
		}
		if inner, err = os.ReadFile(filepath.Join(p, manifest.CustodyLogName)); err != nil {
			return "", usageErr("custody: %s has no custody log: %v", p, err)
		}
	case strings.HasSuffix(p, manifest.ArchiveSuffix):
		if sums, inner, err = readArchiveSeal(p); err != nil {
			return "", verifyErr(err)
		}
	default:
		return "", usageErr("custody: %s is neither a bundle directory nor a %s archive", p, manifest.ArchiveSuffix)
	}
	path := manifest.CustodyPathFor(p)
	log, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !fi.IsDir():
		if inner == nil {
			return "", verifyErr(fmt.Errorf("custody: %s holds no %s to continue", p, manifest.CustodyLogName))
		}
		if err := seal.ContinueCustody(path, inner); err != nil {
			return "", failErr(err)
		}
		return path, nil
	case err != nil:
		return "", failErr(fmt.Errorf("custody: %w", err))
	}
	if len(log) == 0 && !fi.IsDir() {
		return "", verifyErr(fmt.Errorf("custody log %s is 0 bytes, as a full disk or an interrupted write leaves it: restore it from a copy, or remove it and append again, which restarts it from the log sealed inside the archive", path))
	}
	if fi.IsDir() {
		inner = nil // the log is the one inside
	}
	c := seal.VerifyCustody(filepath.Base(path), log, inner, sums, nil)
	if len(c.Problems) > 0 {
		return "", verifyErr(fmt.Errorf("custody log %s is broken, not extending it: %s", path, c.Problems[0].Detail))
	}
	return path, nil
}

// readArchiveSeal reads SHA256SUMS and the custody log out of an archive.
func readArchiveSeal(p string) (sums, custody []byte, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	err = archive.Walk(f, func(name string, r io.Reader) error {
		var dst *[]byte
		switch name {
		case manifest.SumsName:
			dst = &sums
		case manifest.CustodyLogName:
			dst = &custody
		default:
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(r, 64<<20))
		*dst = b
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("custody: %w", err)
	}
	if sums == nil {
		return nil, nil, fmt.Errorf("custody: %s holds no %s", p, manifest.SumsName)
	}
	return sums, custody, nil
}
