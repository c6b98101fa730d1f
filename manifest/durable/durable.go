// Package durable is the one way the project writes a file that must
// survive: the bytes go to a temporary file beside the target, which is
// fsynced and only then moved to the target's name, and the directory is
// fsynced, so a crash leaves either the old file (or none) or the whole new
// one, never a half-written file under the target's name. It depends on
// the standard library and golang.org/x/sys only, so every stage can use
// it. StartWriteback lets a long file written bit by bit reach the disk as
// it grows, so that its final fsync does not wait for all of it.
package durable

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Mode says what Write does when the target exists.
type Mode int

const (
	// Replace replaces an existing file atomically (state files, pages).
	Replace Mode = iota
	// Create never replaces an existing file: Write fails with an error
	// matching fs.ErrExist (archives, receipts, keys, evidence).
	Create
)

// Write writes the file at path with permissions perm from what fill
// writes, durably and atomically (see the package comment). On any error
// the temporary file is removed and the target is left as it was.
func Write(path string, perm fs.FileMode, mode Mode, fill func(w io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if mode == Create {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s: %w", path, fs.ErrExist)
		}
	}
	removeStale(dir, base)
	f, err := os.CreateTemp(dir, "."+base+".*.partial")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := fill(f); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if mode == Create {
		err = publish(tmp, path)
	} else {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

// removeStale removes the temporary files of base that a process killed
// mid-write left in dir: nothing else ever names them, and a write of the
// same target supersedes them.
func removeStale(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if mid, ok := strings.CutPrefix(n, "."+base+"."); ok && strings.HasSuffix(mid, ".partial") && !strings.Contains(strings.TrimSuffix(mid, ".partial"), ".") && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, n))
		}
	}
}

// WriteBytes is Write of b.
func WriteBytes(path string, perm fs.FileMode, mode Mode, b []byte) error {
	return Write(path, perm, mode, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// publish moves tmp to final without replacing an existing file: a hard
// link fails if final exists; where links are not supported (FAT, exFAT
// drives), it falls back to a rename after checking.
func publish(tmp, final string) error {
	err := os.Link(tmp, final)
	switch {
	case err == nil:
		return os.Remove(tmp)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s: %w", final, fs.ErrExist)
	}
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("%s: %w", final, fs.ErrExist)
	}
	return os.Rename(tmp, final)
}

// SyncDir fsyncs directory dir, so that the entries created, renamed or
// removed in it survive a crash. File systems that cannot sync a directory
// (os.ErrInvalid) are not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
