package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
)

// isBlobURL says whether verify's argument is a blob URL.
func isBlobURL(p string) bool {
	return strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "http://")
}

// blobReport is what verify says about a blob besides the bundle check.
type blobReport struct {
	URL            string            `json:"url"`
	VersionID      string            `json:"version_id,omitempty"`
	ETag           string            `json:"etag"`
	ContentLength  int64             `json:"content_length"`
	LastModified   string            `json:"last_modified,omitempty"`
	SHA256         string            `json:"sha256"`
	MetadataSHA256 string            `json:"metadata_sha256,omitempty"` // recorded at upload
	Immutability   blob.Immutability `json:"immutability"`              // as the service reports it now
	Immutable      bool              `json:"immutable"`                 // protected now
}

// verifyBlob streams the blob at rawURL once, hashing it and verifying the
// archive it holds, and reads its current immutability.
func verifyBlob(ctx context.Context, rawURL string, auth collect.AuthOptions) (*manifest.Result, *blobReport, error) {
	t, err := blob.ParseURL(rawURL)
	if err != nil {
		return nil, nil, usageErr("verify: %v", err)
	}
	if t.Path == "" {
		return nil, nil, usageErr("verify: %s names a container, not a blob", t)
	}
	var tok collect.TokenSource
	var id string
	if auth.Method != "" && auth.Method != "token" {
		if tok, id, err = collect.Credential(auth); err != nil {
			return nil, nil, usageErr("%v", err)
		}
	}
	s, err := openStore(t, tok, id, auth.Method)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.Stat(ctx)
	if err != nil {
		return nil, nil, failErr(fmt.Errorf("verify: %w", err))
	}
	r, err := s.Open(ctx, st.ETag)
	if err != nil {
		return nil, nil, failErr(fmt.Errorf("verify: %w", err))
	}
	defer r.Close()
	h := sha256.New()
	tee := io.TeeReader(r, h)
	res, err := archive.VerifyReader(tee)
	if err != nil {
		return nil, nil, &exitError{code: ExitVerify, err: fmt.Errorf("verify %s: %w", t, err)}
	}
	if _, err := io.Copy(h, r); err != nil { // hash anything after the archive, too
		return nil, nil, failErr(fmt.Errorf("verify %s: %w", t, err))
	}
	rep := &blobReport{URL: st.URL, VersionID: st.VersionID, ETag: st.ETag, ContentLength: st.ContentLength,
		LastModified: st.LastModified, SHA256: hex.EncodeToString(h.Sum(nil)), MetadataSHA256: st.MetadataSHA256,
		Immutability: st.Immutability, Immutable: st.Immutability.Protected(time.Now())}
	if rep.MetadataSHA256 != "" && rep.MetadataSHA256 != rep.SHA256 {
		res.Problems = append(res.Problems, manifest.Problem{Kind: "changed", Path: rep.URL,
			Detail: fmt.Sprintf("the blob's SHA-256 is %s, its upload recorded %s", rep.SHA256, rep.MetadataSHA256)})
	}
	return res, rep, nil
}

func printBlobReport(a *app, r *blobReport) {
	w := a.stdout
	fmt.Fprintf(w, "   blob %s\n", r.URL)
	v := r.VersionID
	if v == "" {
		v = "none (no blob versioning)"
	}
	fmt.Fprintf(w, "   version id %s, etag %s, %d bytes, SHA-256 %s\n", v, r.ETag, r.ContentLength, r.SHA256)
	state := "NOT IMMUTABLE"
	if r.Immutable {
		state = "immutable"
	}
	fmt.Fprintf(w, "   immutability now: %s (%s)\n", r.Immutability, state)
}
