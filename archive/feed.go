package archive

import (
	"io"

	"github.com/evidence-dfir/evidence/manifest"
)

// hashFeed hands the bytes of one bundle file at a time, chunk by chunk, to
// a goroutine that hashes them into a manifest.FileWriter: hashing runs
// beside the archiving (or the decompressing), on the very buffers the
// bytes were read into, without another copy. Its chunks are reused from
// file to file.
type hashFeed struct {
	full chan []byte // chunks to hash; nil ends the file
	free chan []byte // chunks to fill
	done chan struct{}
}

// feedChunks is how many chunks of feedChunkSize are in flight between the
// reader of a file and the goroutine hashing it.
const (
	feedChunks    = 4
	feedChunkSize = 256 << 10
)

func newHashFeed() *hashFeed {
	f := &hashFeed{
		full: make(chan []byte, feedChunks),
		free: make(chan []byte, feedChunks),
		done: make(chan struct{}),
	}
	for range feedChunks {
		f.free <- make([]byte, feedChunkSize)
	}
	return f
}

// start hashes into w, on a goroutine of its own, the chunks sent until end.
func (f *hashFeed) start(w *manifest.FileWriter) {
	go func() {
		for b := <-f.full; b != nil; b = <-f.full {
			w.Write(b) // never fails
			f.free <- b[:cap(b)]
		}
		f.done <- struct{}{}
	}()
}

// chunk returns a free chunk to fill: then send it, or put it back.
func (f *hashFeed) chunk() []byte { return <-f.free }

// send hands b (a chunk, filled) to the hashing goroutine.
func (f *hashFeed) send(b []byte) { f.full <- b }

// put gives back a chunk that is not sent.
func (f *hashFeed) put(b []byte) { f.free <- b[:cap(b)] }

// end waits until every chunk sent is hashed and stops the goroutine.
func (f *hashFeed) end() {
	f.full <- nil
	<-f.done
}

// fill reads r into b until b is full or r fails; unlike io.ReadFull it
// returns r's error as is (io.EOF at the end, even after some bytes).
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// feedFile reads r to its end into the bundle file name of v, hashing on
// another goroutine through f; with tw set, each chunk is first written to
// tw (an archive being written). A name v refuses is recorded by v and r is
// not read (nor written to tw). It returns the bytes read and the first
// error of reading r or writing tw; the file is recorded only without one.
func feedFile(v *manifest.Verifier, name string, r io.Reader, f *hashFeed, tw io.Writer) (int64, bool, error) {
	fw, err := v.Create(name)
	if err != nil {
		return 0, false, err
	}
	if fw.Refused() {
		return 0, false, nil
	}
	f.start(fw)
	var n int64
	for {
		b := f.chunk()
		k, rerr := fill(r, b)
		if k > 0 && tw != nil {
			if _, werr := tw.Write(b[:k]); werr != nil {
				f.put(b)
				f.end()
				return n, true, werr
			}
		}
		if k > 0 {
			n += int64(k)
			f.send(b[:k])
		} else {
			f.put(b)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			f.end()
			return n, true, rerr
		}
	}
	f.end()
	return n, true, fw.Close()
}
