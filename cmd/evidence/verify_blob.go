package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
)

// isBlobURL says whether verify's argument is a blob URL.
func isBlobURL(p string) bool {
	return strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "http://")
}

// verifyBlob streams the blob at rawURL once, hashing it and verifying the
// archive it holds, and reads its current immutability.
func verifyBlob(ctx context.Context, rawURL string, auth collect.AuthOptions) (*manifest.Result, *pipeline.BlobReport, error) {
	t, err := blob.ParseURL(rawURL)
	if err != nil {
		return nil, nil, usageErr("verify: %v", err)
	}
	if t.Path == "" {
		return nil, nil, usageErr("verify: %s names a container, not a blob", t)
	}
	s, err := pipeline.OpenStoreAuth(t, auth)
	if err != nil {
		return nil, nil, err
	}
	res, rep, err := pipeline.ReadBlob(ctx, s)
	var pe *pipeline.Error
	if err != nil && !errors.As(err, &pe) {
		return nil, nil, failErr(fmt.Errorf("verify: %w", err))
	}
	return res, rep, err
}

func printBlobReport(a *app, r *pipeline.BlobReport) {
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
