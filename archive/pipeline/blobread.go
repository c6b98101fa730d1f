package pipeline

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/manifest"
)

// BlobReport is what reading a blob back says besides the bundle check.
type BlobReport struct {
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

// ReadBlob streams the blob named by the store's target once, hashing it
// and verifying the archive it holds, and reads its current immutability.
// A blob whose SHA-256 differs from the one recorded at upload is a
// "changed" problem. It returns (nil, nil, err) with a *blob.ServiceError
// of status 404 when the blob does not exist.
func ReadBlob(ctx context.Context, s *blob.Store) (*manifest.Result, *BlobReport, error) {
	var res *manifest.Result
	var verr error
	sum, st, err := ReadPublished(ctx, Published{Store: s}, func(r io.Reader) error {
		res, verr = archive.VerifyReader(r)
		return verr
	})
	if verr != nil {
		return nil, nil, verifyErr(fmt.Errorf("verify %s: %w", s.Target(), verr))
	}
	if err != nil {
		return nil, nil, err
	}
	rep := &BlobReport{URL: st.URL, VersionID: st.VersionID, ETag: st.ETag, ContentLength: st.ContentLength,
		LastModified: st.LastModified, SHA256: sum, MetadataSHA256: st.MetadataSHA256,
		Immutability: st.Immutability, Immutable: st.Immutability.Protected(time.Now())}
	if rep.MetadataSHA256 != "" && rep.MetadataSHA256 != rep.SHA256 {
		res.AddProblem(rep.URL, manifest.ProblemChanged, fmt.Sprintf("the blob's SHA-256 is %s, its upload recorded %s", rep.SHA256, rep.MetadataSHA256))
	}
	return res, rep, nil
}
