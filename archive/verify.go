package archive

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/evidence-dfir/evidence/manifest"
)

// VerifyTarZst verifies the bundle archived in the .tar.zst file at path,
// streaming each file once through a manifest.Verifier (see its rules),
// without extracting anything. The first unsafe entry (see Walk) becomes a
// ProblemUnsafe naming that entry and stops the walk (manifest.Verifier.Halt).
// The error is non-nil when the file cannot be read or is not a sound
// zstd-compressed tar archive (not zstd, corrupt, truncated); it says so on
// one line.
func VerifyTarZst(path string) (*manifest.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	res, err := VerifyReader(f)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}
	return res, nil
}

// VerifyReader is VerifyTarZst for an archive streamed from r (a download,
// a pipe): it reads r once, to its end when the archive is sound.
//
// Decompression and hashing run on separate cores: the walk decompresses
// each file's bytes into chunks that another goroutine hashes in place.
func VerifyReader(r io.Reader) (*manifest.Result, error) {
	v := manifest.NewVerifier()
	feed := newHashFeed()
	err := Walk(r, func(name string, r io.Reader) error {
		_, _, err := feedFile(v, name, r, feed, nil) // a refused name: the walk skips the entry
		return err
	})
	var unsafe *UnsafeEntryError
	switch {
	case errors.As(err, &unsafe):
		v.Halt(unsafe.Name, unsafe.Why)
	case err != nil:
		return nil, err
	}
	return v.Result(), nil
}
