package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// IsBlobURL says whether a bundle argument is a blob URL.
func IsBlobURL(p string) bool {
	return strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "http://")
}

// VerifyPath verifies a bundle directory or .tar.zst archive: a path that
// is not there is a usage error, one that cannot be read as a bundle a
// verification error.
func VerifyPath(p string) (*manifest.Result, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, usageErr("verify: %v", err)
	}
	if base := filepath.Base(filepath.Clean(p)); strings.HasPrefix(base, ".") && strings.HasSuffix(base, ".partial") {
		return nil, verifyErr(fmt.Errorf("%s is the unfinished work of an interrupted run, not a sealed bundle (run the command again, or grab --resume)", p))
	}
	var res *manifest.Result
	if fi.IsDir() {
		res, err = manifest.VerifyDir(p)
	} else {
		res, err = archive.VerifyTarZst(p)
	}
	if err != nil {
		return nil, verifyErr(err) // the error names the bundle once
	}
	return res, nil
}

// VerifyBlobURL streams the blob at rawURL once, hashing it and verifying
// the archive it holds, and reads its current immutability.
func VerifyBlobURL(ctx context.Context, rawURL string, auth collect.AuthOptions) (*manifest.Result, *BlobReport, error) {
	t, err := blob.ParseURL(rawURL)
	if err != nil {
		return nil, nil, usageErr("verify: %v", err)
	}
	if t.Path == "" {
		return nil, nil, usageErr("verify: %s names a container, not a blob", t)
	}
	s, err := OpenStoreAuth(t, auth)
	if err != nil {
		return nil, nil, err
	}
	res, rep, err := ReadBlob(ctx, s)
	var pe *Error
	if err != nil && !errors.As(err, &pe) {
		return nil, nil, failErr(fmt.Errorf("verify: %w", err))
	}
	return res, rep, err
}

// Verified is what verify found: the files, the seal and, for a blob, what
// the service says of it.
type Verified struct {
	Bundle string
	Files  *manifest.Result
	Seal   *seal.Report
	Blob   *BlobReport
}

// VerifyBundle verifies the bundle at p (a directory, an archive, or a blob URL)
// and its seal against opts: for a local archive, the custody log beside
// it must be there.
func VerifyBundle(ctx context.Context, p string, opts seal.Options, auth collect.AuthOptions) (*Verified, error) {
	v := &Verified{Bundle: p}
	var err error
	if IsBlobURL(p) {
		v.Files, v.Blob, err = VerifyBlobURL(ctx, p, auth)
	} else {
		v.Files, err = VerifyPath(p)
		if err == nil {
			if err := opts.BesideArchive(p); err != nil {
				return nil, verifyErr(err)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	v.Seal = seal.Check(v.Files, opts)
	return v, nil
}

// WriteJSON writes v as verify --json prints it (the CLIReport schema;
// bundle, ok, files, bytes, problems, seal and blob as before it), with the
// exit code verify returns.
func (v *Verified) WriteJSON(w io.Writer, exit int) error {
	c := newCLIReport("verify", exit)
	c.Bundle, c.Seal, c.Blob = v.Bundle, v.Seal, v.Blob
	c.OK = v.Files.OK() // as before: the files verify (exit 5 keeps ok true)
	c.Files, c.Bytes = v.Files.Files, v.Files.Bytes
	if v.Files.Problems != nil {
		c.Problems = v.Files.Problems
	}
	c.withManifest(v.Files.Manifest)
	return c.Write(w)
}

// WriteText writes v for a person: the files, the seal, the blob.
func (v *Verified) WriteText(w io.Writer) {
	res, p := v.Files, v.Bundle
	if res.OK() {
		fmt.Fprintf(w, "OK %s: %d files, %d bytes, every SHA-256 matches SHA256SUMS and the manifest\n", p, res.Files, res.Bytes)
		if m := res.Manifest; m != nil {
			fmt.Fprintf(w, "   case %s, tenant %s, collected %s by %s\n", m.CaseID, m.Tenant.Domain, m.CollectionStart, m.Examiner)
			if !m.Complete {
				fmt.Fprintln(w, "   note: the bundle is intact but its manifest records INCOMPLETE collection")
			}
			if m.Partial != nil {
				fmt.Fprintln(w, "   note: "+PartialLine(m.Partial))
			}
		}
	} else {
		fmt.Fprintf(w, "FAILED %s: %d problem(s)\n", p, len(res.Problems))
		for _, pr := range res.Problems {
			line := fmt.Sprintf("  %-12s %s", pr.Kind, pr.Path)
			if pr.Detail != "" {
				line += ": " + pr.Detail
			}
			fmt.Fprintln(w, line)
		}
	}
	v.Seal.WriteText(w)
	if r := v.Blob; r != nil {
		fmt.Fprintf(w, "   blob %s\n", r.URL)
		ver := r.VersionID
		if ver == "" {
			ver = "none (no blob versioning)"
		}
		fmt.Fprintf(w, "   version id %s, etag %s, %d bytes, SHA-256 %s\n", ver, r.ETag, r.ContentLength, r.SHA256)
		state := "NOT IMMUTABLE"
		if r.Immutable {
			state = "immutable"
		}
		fmt.Fprintf(w, "   immutability now: %s (%s)\n", r.Immutability, state)
	}
}
