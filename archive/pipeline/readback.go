package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/manifest"
)

// readBack is an archive read back from the file it was written to: the
// bundle it holds verified, the SHA-256 and size of the file's bytes.
type readBack struct {
	res  *manifest.Result
	sum  string
	size int64
	file os.FileInfo // the file read (the temporary file, before its rename)
	err  error
}

// followReadBack reads back the archive written through w (the temporary
// file durable.Write fills) while it is written: the returned writer
// passes the bytes to w and tells a reader on another goroutine how far the
// file holds them; that reader reads them from the file itself (w's
// io.ReaderAt, the bytes the file holds, not the ones passed on), hashes
// them and decompresses and verifies the bundle as they come, on cores the
// compression leaves idle. wait ends the writing (err: it failed) and
// returns the read-back once the reader has read to the file's end; it
// must be called before the file is closed. ok is false when w cannot be
// read back this way (not a file): the archive is then read back after.
func followReadBack(w io.Writer) (tw io.Writer, wait func(err error) readBack, ok bool) {
	ra, isRA := w.(io.ReaderAt)
	st, isStat := w.(interface{ Stat() (os.FileInfo, error) })
	if !isRA || !isStat || !followWrites {
		return w, nil, false
	}
	f := &follower{ra: ra}
	f.cond = sync.NewCond(&f.mu)
	out := make(chan readBack, 1)
	go func() {
		h := sha256.New()
		res, err := archive.VerifyReader(io.TeeReader(f, h))
		if err == nil {
			_, err = io.Copy(h, f) // anything after the archive, too
		}
		f.stop()
		rb := readBack{res: res, sum: hex.EncodeToString(h.Sum(nil)), size: f.off, err: err}
		if err == nil {
			rb.file, rb.err = st.Stat()
		}
		out <- rb
	}()
	return &trackWriter{w: w, f: f}, func(err error) readBack {
		f.finish(err)
		return <-out
	}, true
}

// followWrites turns followReadBack on (benchmarks compare it off).
var followWrites = true

// follower reads a file through ReadAt as far as it is written: Read waits
// for bytes not yet written, and ends at the end of what was written once
// the writing is finished.
type follower struct {
	ra   io.ReaderAt
	mu   sync.Mutex
	off  int64 // read so far
	cond *sync.Cond
	n    int64 // written so far
	done bool  // the writing is finished
	err  error // the writing failed
	quit bool  // the reader stopped: writes no longer wake it
}

var errWriteFailed = errors.New("the archive was not written whole")

func (f *follower) Read(p []byte) (int, error) {
	f.mu.Lock()
	for f.n-f.off < followChunk && !f.done {
		f.cond.Wait() // a chunk at a time: not a wake-up for every write
	}
	n, err := f.n, f.err
	f.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errWriteFailed, err)
	}
	if f.off >= n {
		return 0, io.EOF
	}
	if int64(len(p)) > n-f.off {
		p = p[:n-f.off]
	}
	k, err := f.ra.ReadAt(p, f.off)
	f.mu.Lock()
	f.off += int64(k)
	f.mu.Unlock()
	if err == io.EOF && k == len(p) {
		err = nil
	}
	if err == nil && k < len(p) {
		err = io.ErrUnexpectedEOF // the file is shorter than what was written to it
	}
	return k, err
}

// followChunk is how many written bytes wake the reader.
const followChunk = 256 << 10

func (f *follower) wrote(n int) {
	f.mu.Lock()
	f.n += int64(n)
	if !f.quit && f.n-f.off >= followChunk {
		f.cond.Signal()
	}
	f.mu.Unlock()
}

func (f *follower) finish(err error) {
	f.mu.Lock()
	f.done, f.err = true, err
	f.cond.Signal()
	f.mu.Unlock()
}

func (f *follower) stop() {
	f.mu.Lock()
	f.quit = true
	f.mu.Unlock()
}

// trackWriter writes to w and tells f how many bytes the file holds.
type trackWriter struct {
	w io.Writer
	f *follower
}

func (t *trackWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if n > 0 {
		t.f.wrote(n)
	}
	return n, err
}
