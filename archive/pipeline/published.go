package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/evidence-dfir/evidence/archive/blob"
)

// Published is one published archive: a local file (Path) or a blob
// (Store, whose target names it). Exactly one is set.
type Published struct {
	Path  string
	Store *blob.Store
}

// String is the archive's location.
func (p Published) String() string {
	if p.Store != nil {
		return p.Store.Target().String()
	}
	return p.Path
}

// ReadPublished opens a published archive as one stream and hands it to
// read while hashing every byte read; what read leaves unread is drained
// into the hash too, so the SHA-256 returned is that of the whole file or
// blob, exactly as the archive was verified (read is typically
// archive.VerifyReader or diff.LoadReader). A blob is opened at the ETag
// its properties report, so the bytes hashed are one version; its
// properties are returned (nil for a local file).
func ReadPublished(ctx context.Context, p Published, read func(io.Reader) error) (sum string, props *blob.State, err error) {
	var r io.ReadCloser
	switch {
	case p.Store != nil:
		if props, err = p.Store.Stat(ctx); err != nil {
			return "", nil, err
		}
		if r, err = p.Store.Open(ctx, props.ETag); err != nil {
			return "", nil, err
		}
	case p.Path != "":
		if r, err = os.Open(p.Path); err != nil {
			return "", nil, err
		}
	default:
		return "", nil, errors.New("pipeline.ReadPublished: no path and no blob")
	}
	defer r.Close()
	h := sha256.New()
	if err := read(io.TeeReader(r, h)); err != nil {
		return "", props, fmt.Errorf("%s: %w", p, err)
	}
	if _, err := io.Copy(h, r); err != nil { // anything after the archive, too
		return "", props, fmt.Errorf("%s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), props, nil
}
