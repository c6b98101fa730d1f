package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gofrs/flock"
)

// File names inside a local state directory.
const (
	StateFile = "state.json"
	LockFile  = "lock"      // flock(2) target; never removed
	LockInfo  = "lock.json" // who holds the lock, for the refused run's message
)

// Dir is a Store in a local directory. Its lock is an advisory flock on
// DIR/lock (LockFileEx on Windows, through github.com/gofrs/flock): the
// kernel releases it when the holder exits, even when killed, so a crashed
// run never blocks the next one.
type Dir struct {
	Path string
}

// Open returns the Store for a --state value: a local directory, or an
// https:// blob container URL (not built yet in this version).
func Open(spec string) (Store, error) {
	if strings.HasPrefix(spec, "https://") || strings.HasPrefix(spec, "http://") {
		return nil, errors.New("--state: a blob container URL needs the blob store, which this build does not have yet; use a local directory")
	}
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("--state is empty")
	}
	return &Dir{Path: spec}, nil
}

// String implements Store.
func (d *Dir) String() string { return d.Path }

// Lock implements Store.
func (d *Dir) Lock(_ context.Context, h Holder) (func() error, error) {
	if err := os.MkdirAll(d.Path, 0o755); err != nil {
		return nil, fmt.Errorf("--state %s: %w", d.Path, err)
	}
	fl := flock.New(filepath.Join(d.Path, LockFile))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking state %s: %w", d.Path, err)
	}
	if !ok {
		le := &LockedError{Store: d.Path}
		if b, err := os.ReadFile(filepath.Join(d.Path, LockInfo)); err == nil {
			_ = json.Unmarshal(b, &le.Holder)
		}
		return nil, le
	}
	if b, err := json.Marshal(h); err == nil {
		_ = writeAtomic(d.Path, LockInfo, b) // informative only
	}
	return func() error {
		_ = os.Remove(filepath.Join(d.Path, LockInfo))
		return fl.Unlock()
	}, nil
}

// Read implements Store.
func (d *Dir) Read(context.Context) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.Path, StateFile))
}

// Write implements Store: a temporary file, fsync, rename over the old one,
// fsync of the directory.
func (d *Dir) Write(_ context.Context, b []byte) error {
	return writeAtomic(d.Path, StateFile, b)
}

func writeAtomic(dir, name string, b []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(b); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	dh, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer dh.Close()
	if err := dh.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
