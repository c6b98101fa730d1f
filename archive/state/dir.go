package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/manifest/durable"
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

// BlobOpener builds the blob store for a --state URL: it chooses the
// credential (archive/blob.Credentials).
type BlobOpener func(blob.Target) (*blob.Store, error)

// IsURL says whether a --state value is a blob URL rather than a directory.
func IsURL(spec string) bool {
	return strings.HasPrefix(spec, "https://") || strings.HasPrefix(spec, "http://")
}

// Open returns the Store for a --state value: a local directory, or a blob
// URL https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX (path-style
// http://127.0.0.1:PORT/ACCOUNT/CONTAINER/PREFIX for an emulator), reached
// through open; a nil open uses the credential in the environment
// (blob.EnvCredentials).
func Open(spec string, open BlobOpener) (Store, error) {
	if IsURL(spec) {
		t, err := blob.ParseURL(spec)
		if err != nil {
			return nil, fmt.Errorf("--state: %w", err)
		}
		if open == nil {
			open = envStore
		}
		s, err := open(t)
		if err != nil {
			return nil, err
		}
		return NewBlob(s), nil
	}
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("--state is empty")
	}
	return &Dir{Path: spec}, nil
}

// envStore opens the blob store with the environment's credential.
func envStore(t blob.Target) (*blob.Store, error) {
	c, err := blob.EnvCredentials()
	if err != nil {
		return nil, err
	}
	return blob.NewStore(t, c)
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
		_ = durable.WriteBytes(filepath.Join(d.Path, LockInfo), 0o644, durable.Replace, b) // informative only
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
	return durable.WriteBytes(filepath.Join(d.Path, StateFile), 0o644, durable.Replace, b)
}
