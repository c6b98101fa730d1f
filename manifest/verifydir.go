package manifest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// VerifyDir verifies the bundle in directory dir (dir itself may be reached
// through a symlink; nothing inside it may be). Regular files are read once
// each; directories are walked; anything else (symlink, device, fifo, socket)
// is an unsafe problem and is not followed or read; entries that cannot be
// read are unreadable problems. The error is non-nil only if dir cannot be
// walked at all.
//
// Files are hashed by runtime.GOMAXPROCS(0) workers at once (see
// VerifyDirWorkers).
func VerifyDir(dir string) (*Result, error) {
	return VerifyDirWorkers(dir, 0)
}

// VerifyDirWorkers is VerifyDir with files hashed by the given number of
// workers at once (GOMAXPROCS when workers < 1). The walk hands files to the
// workers through a queue of fixed length, each worker streams one file at a
// time through its own buffer, and what they find is recorded in walk order:
// the Result is the same for any number of workers, and memory depends on
// the number of workers, not on the size or number of files.
func VerifyDirWorkers(dir string, workers int) (*Result, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("verify %s: not a directory", dir)
	}
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}

	v := NewVerifier()
	// inOrder carries every entry, files and findings alike, in walk order
	// to the one goroutine that records them in v; toRead carries the files
	// to the workers. A file's entry is queued in inOrder before its job in
	// toRead, and workers take jobs in queue order, so the entry the
	// recorder waits for is always being read or next to be.
	inOrder := make(chan *dirEntry, 2*workers)
	toRead := make(chan *dirEntry, workers)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		for e := range inOrder {
			<-e.done
			e.record(v)
		}
	}()
	for range workers {
		go func() {
			buf := make([]byte, readBufSize)
			for e := range toRead {
				e.read(buf)
				close(e.done)
			}
		}()
	}
	finding := func(rel, kind, why string) {
		e := &dirEntry{rel: rel, kind: kind, why: why, done: make(chan struct{})}
		close(e.done)
		inOrder <- e
	}

	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if p == root {
			return err
		}
		rel, rerr := filepath.Rel(root, p)
		if rerr != nil {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		if err != nil {
			finding(rel, ProblemUnreadable, err.Error())
			return nil
		}
		switch {
		case d.IsDir():
			if perr := checkPath(rel); perr != nil {
				finding(rel, ProblemUnsafe, "unsafe directory name: "+perr.Error())
				return fs.SkipDir
			}
			return nil
		case d.Type().IsRegular():
			e := &dirEntry{rel: rel, path: p, d: d, done: make(chan struct{})}
			inOrder <- e
			toRead <- e
			return nil
		default:
			finding(rel, ProblemUnsafe, describeType(d.Type()))
			return nil
		}
	})
	close(toRead)
	close(inOrder)
	<-recorded
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	return v.Result(), nil
}

// dirEntry is one entry of a directory walk on its way to the Verifier: a
// finding made by the walk (kind and why), or a regular file that a worker
// reads and whose outcome is recorded once done is closed.
type dirEntry struct {
	rel  string
	done chan struct{}

	// A finding, or what reading the file found.
	kind, why string

	// The file to read, and what reading it gave.
	path string
	d    fs.DirEntry
	h    hashed
	err  error
}

// read opens the regular file seen by the walk, making sure what is opened
// is still that regular file, and hashes it through buf. A file whose name
// the Verifier refuses is not read.
func (e *dirEntry) read(buf []byte) {
	walked, err := e.d.Info()
	if err != nil {
		e.kind, e.why = ProblemUnreadable, err.Error()
		return
	}
	f, err := os.Open(e.path)
	if err != nil {
		e.kind, e.why = ProblemUnreadable, err.Error()
		return
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		e.kind, e.why = ProblemUnreadable, err.Error()
		return
	}
	if !opened.Mode().IsRegular() || !os.SameFile(walked, opened) {
		e.kind, e.why = ProblemUnsafe, "replaced while being verified"
		return
	}
	if checkPath(e.rel) != nil {
		return // refused by Verifier.add, unread
	}
	e.h, e.err = hashStream(e.rel, f, buf)
}

// record tells v what was found about the entry, as reading it in walk
// order would have.
func (e *dirEntry) record(v *Verifier) {
	switch {
	case e.kind == ProblemUnreadable:
		v.Unreadable(e.rel, e.why)
	case e.kind != "":
		v.Refuse(e.rel, e.why)
	default:
		if err := v.add(e.rel, func() (hashed, error) { return e.h, e.err }); err != nil {
			v.Unreadable(e.rel, err.Error())
		}
	}
}
