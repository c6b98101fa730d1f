package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// HashWriter writes through to an underlying writer while computing, in the
// same pass, the SHA-256 of the bytes written, their count and the number of
// '\n' bytes among them. A bundle file is thus written once and its hash,
// size and line count are known without reading it back.
//
// Only bytes the underlying writer accepted are counted. A HashWriter is not
// safe for concurrent use.
type HashWriter struct {
	w     io.Writer
	h     hash.Hash
	size  int64
	lines int64
}

// NewHashWriter returns a HashWriter that writes to w. A nil w discards the
// bytes and only hashes and counts them.
func NewHashWriter(w io.Writer) *HashWriter {
	if w == nil {
		w = io.Discard
	}
	return &HashWriter{w: w, h: sha256.New()}
}

// Write writes p to the underlying writer, then hashes and counts the bytes
// that were written. It returns what the underlying writer returned.
func (hw *HashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	if n < 0 || n > len(p) {
		// A broken writer; count nothing rather than panic on the slice.
		n = 0
	}
	if n > 0 {
		hw.h.Write(p[:n]) // hash.Hash.Write never fails
		hw.size += int64(n)
		hw.lines += int64(bytes.Count(p[:n], []byte{'\n'}))
	}
	return n, err
}

// Sum returns the SHA-256 of the bytes written so far, as 64 lowercase hex
// digits. It does not change the state: writing may continue.
func (hw *HashWriter) Sum() string {
	return hex.EncodeToString(hw.h.Sum(nil))
}

// Size returns the number of bytes written so far.
func (hw *HashWriter) Size() int64 { return hw.size }

// Lines returns the number of '\n' bytes written so far: the number of
// records of a JSON-lines file whose every record ends with a newline.
func (hw *HashWriter) Lines() int64 { return hw.lines }
