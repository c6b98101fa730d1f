package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// Bundle is a bundle read once for its page.
type Bundle struct {
	Name     string // the bundle's name (directory or archive without .tar.zst)
	Dir      string // the absolute directory; "" for an archive
	Manifest *manifest.Manifest
	Analyzer *Analyzer
	// Options has what the bundle says about itself filled in: the
	// signature, the SHA-256 of SHA256SUMS and of the archive, and NoLinks
	// for an archive. The caller adds the language, links and integrity.
	Options Options
}

// NotBundleError is a path that is not a readable bundle (no manifest, a
// manifest that does not parse, an archive that does not read).
type NotBundleError struct{ Err error }

func (e *NotBundleError) Error() string { return e.Err.Error() }
func (e *NotBundleError) Unwrap() error { return e.Err }

// ReadBundle reads the bundle at p (a directory or a .tar.zst) once,
// streaming every record file through a new Analyzer, in bounded memory.
func ReadBundle(p string) (*Bundle, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Analyzer: NewAnalyzer()}
	var mbytes, sums []byte
	var names []string
	keep := func(r io.Reader) ([]byte, error) { return io.ReadAll(io.LimitReader(r, 64<<20)) }
	if fi.IsDir() {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		b.Name, b.Dir = filepath.Base(abs), abs
		if err := FeedDir(b.Analyzer, abs, func(rel string) { names = append(names, rel) }); err != nil {
			return nil, fmt.Errorf("report %s: %w", p, err)
		}
		if mbytes, err = os.ReadFile(filepath.Join(abs, manifest.ManifestName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if sums, err = os.ReadFile(filepath.Join(abs, manifest.SumsName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		b.Options.Signature = signatureState(names, func(n string) []byte {
			s, _ := os.ReadFile(filepath.Join(abs, n))
			return s
		})
	} else {
		b.Name = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), ".zst"), ".tar")
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		h := sha256.New()
		sigs := map[string][]byte{}
		err = archive.Walk(io.TeeReader(f, h), func(rel string, r io.Reader) error {
			names = append(names, rel)
			var err error
			switch {
			case rel == manifest.ManifestName:
				mbytes, err = keep(r)
			case rel == manifest.SumsName:
				sums, err = keep(r)
			case strings.HasPrefix(rel, manifest.SumsName+"."):
				sigs[rel], err = keep(r)
			case b.Analyzer.WantsFile(rel):
				err = b.Analyzer.Feed(rel, r)
			}
			return err
		})
		if err != nil {
			return nil, &NotBundleError{fmt.Errorf("report %s: %w", p, err)}
		}
		if _, err := io.Copy(h, f); err != nil {
			return nil, err
		}
		// Findings read after the records they name: read those again.
		if miss := b.Analyzer.missingCaptures(); len(miss) > 0 {
			if err := recapture(p, b.Analyzer, miss); err != nil {
				return nil, &NotBundleError{fmt.Errorf("report %s: %w", p, err)}
			}
		}
		b.Options.ArchiveSHA256 = hex.EncodeToString(h.Sum(nil))
		b.Options.Signature = signatureState(names, func(n string) []byte { return sigs[n] })
		b.Options.NoLinks = true
	}
	if mbytes == nil {
		return nil, &NotBundleError{fmt.Errorf("report %s: no %s: not a bundle", p, manifest.ManifestName)}
	}
	b.Manifest = &manifest.Manifest{}
	if err := json.Unmarshal(mbytes, b.Manifest); err != nil {
		return nil, &NotBundleError{fmt.Errorf("report %s: %s: %w", p, manifest.ManifestName, err)}
	}
	if sums != nil {
		s := sha256.Sum256(sums)
		b.Options.SumsSHA256 = hex.EncodeToString(s[:])
	}
	b.Options.BundleName = b.Name
	return b, nil
}

// signatureState says whether the bundle carries a signature. It does not
// check it (evidence verify does): a signature file is reported as present,
// with the fingerprint of the key it names, as ssh-keygen -lf prints it.
func signatureState(names []string, read func(string) []byte) Signature {
	if !slices.Contains(names, manifest.SigName) {
		return Signature{State: SigUnsigned}
	}
	fp, err := seal.SignatureKey(read(manifest.SigName))
	if err != nil {
		return Signature{State: SigInvalid, File: manifest.SigName}
	}
	return Signature{State: SigPresent, File: manifest.SigName, Key: fp}
}

// recapture walks the archive at p again for the lines findings point at
// in files.
func recapture(p string, a *Analyzer, files []string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return archive.Walk(f, func(rel string, r io.Reader) error {
		if slices.Contains(files, rel) {
			return a.Capture(rel, r)
		}
		return nil
	})
}
