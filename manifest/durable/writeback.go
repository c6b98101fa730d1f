package durable

import (
	"io"
	"os"
)

// WritebackEvery is how many bytes a file grows by before Writeback starts
// their writeback to the disk.
const WritebackEvery = 16 << 20

// Writeback starts the writeback of a long file as it grows
// (StartWriteback every WritebackEvery bytes), so that the fsync that
// makes it durable at its end waits for the last few MiB, not for all of
// them, while the disk was idle during the writing. The zero value is
// ready; a Writeback follows one file.
type Writeback struct {
	started int64 // bytes whose writeback was started
}

// At says that f now holds size bytes (less than before after a
// truncation).
func (w *Writeback) At(f *os.File, size int64) {
	if w.started > size {
		w.started = size
	}
	if size-w.started >= WritebackEvery {
		StartWriteback(f, w.started, size-w.started)
		w.started = size
	}
}

// WritebackWriter passes writes to w and starts the writeback of f, the
// file w writes to from its start, as it grows. When f is nil it is w.
func WritebackWriter(w io.Writer, f *os.File) io.Writer {
	if f == nil {
		return w
	}
	return &writebackWriter{w: w, f: f}
}

type writebackWriter struct {
	w    io.Writer
	f    *os.File
	size int64
	wb   Writeback
}

func (t *writebackWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.size += int64(n)
	t.wb.At(t.f, t.size)
	return n, err
}
