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
// each file's bytes into a pipe, and another goroutine hashes them from it.
func VerifyReader(r io.Reader) (*manifest.Result, error) {
	v := manifest.NewVerifier()
	buf := make([]byte, pipeBufSize)
	err := Walk(r, func(name string, r io.Reader) error { return addPiped(v, name, r, buf) })
	var unsafe *UnsafeEntryError
	switch {
	case errors.As(err, &unsafe):
		v.Halt(unsafe.Name, unsafe.Why)
	case err != nil:
		return nil, err
	}
	return v.Result(), nil
}

// pipeBufSize is how many decompressed bytes the walk hands the hashing
// goroutine at a time.
const pipeBufSize = 256 << 10

// errUnread stops feeding a file that the Verifier does not read.
var errUnread = errors.New("entry not read by the verifier")

// addPiped is v.Add(name, r) with r read in this goroutine, through buf, and
// hashed in another: while one chunk is hashed, the next is decompressed.
// One file is in flight at a time, so v is used by one goroutine at a time.
func addPiped(v *manifest.Verifier, name string, r io.Reader, buf []byte) error {
	pr, pw := io.Pipe()
	added := make(chan error, 1)
	go func() {
		err := v.Add(name, pr)
		pr.CloseWithError(errUnread) // when Add refused the file unread
		added <- err
	}()
	_, err := io.CopyBuffer(pw, r, buf)
	if errors.Is(err, errUnread) {
		err = nil // the walk skips the rest of the entry
	}
	pw.CloseWithError(err) // nil: the end of the file
	if aerr := <-added; aerr != nil {
		return aerr
	}
	return err
}
