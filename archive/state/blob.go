package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
)

// Blob names under a blob state's prefix.
const (
	BlobStateName = StateFile // PREFIX/state.json, the state document
	BlobLockName  = LockFile  // PREFIX/lock, the empty blob whose lease is the lock
)

// DefaultLease is the blob state's lease duration: the longest finite lease
// the service grants, so a run killed without releasing it blocks the next
// one for at most a minute.
const DefaultLease = blob.MaxLease

// Blob is a Store in Azure Blob Storage, under a container and prefix
// (https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX):
//
//   - the lock is a lease on PREFIX/lock, taken for LeaseDuration and renewed
//     in the background every RenewEvery while the run holds it; a run that
//     dies stops renewing, and the lease expires by itself. The holder's pid,
//     host, start and the time its lease runs to are the lock blob's
//     metadata, for the refused run's message;
//   - the state is PREFIX/state.json, replaced in one Put Blob that is
//     conditional on the ETag this Store read (If-Match), or on there being
//     none (If-None-Match: *) when there was none. Before writing, the lease
//     is renewed synchronously: a run whose lease was lost (it stalled past
//     the lease and another run took it) writes nothing. A concurrent writer
//     can therefore never be silently overwritten: the write fails instead.
//
// Previous versions of state.json are not copied beside it: the hash-chained
// index (and the same chain in every bundle's manifest) makes a replaced,
// rolled-back or truncated state detectable, and blob versioning or soft
// delete on the storage account, where enabled, keeps every version
// out of reach of the writer (docs/schedule.md).
type Blob struct {
	store *blob.Store

	// LeaseDuration is the lease's duration (blob.MinLease to blob.MaxLease);
	// zero means DefaultLease.
	LeaseDuration time.Duration
	// RenewEvery is how often the lease is renewed; zero means a third of
	// LeaseDuration.
	RenewEvery time.Duration

	mu      sync.Mutex
	lease   *blob.Lease
	etag    string // of the state document as Read saw it; "" when there was none
	renewal error  // the last background renewal's failure, nil after a success
}

// NewBlob returns the state kept under the store's target (its path is the
// prefix).
func NewBlob(s *blob.Store) *Blob { return &Blob{store: s} }

// String implements Store: the prefix's URL, without any secret.
func (b *Blob) String() string { return b.store.Target().String() }

func (b *Blob) durations() (time.Duration, time.Duration) {
	d := b.LeaseDuration
	if d == 0 {
		d = DefaultLease
	}
	every := b.RenewEvery
	if every == 0 {
		every = d / 3
	}
	return d, every
}

// Lock implements Store: a lease on PREFIX/lock, renewed in the background
// until the returned function releases it.
func (b *Blob) Lock(ctx context.Context, h Holder) (func() error, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lease != nil {
		return nil, fmt.Errorf("state %s is already locked by this run", b)
	}
	d, every := b.durations()
	name := b.store.Target().Join(BlobLockName)
	l, err := b.store.AcquireLease(ctx, name, d, holderMeta(h, time.Now().Add(d)))
	var le *blob.LeasedError
	if errors.As(err, &le) {
		return nil, lockedFromMeta(b.String(), le)
	}
	if err != nil {
		return nil, fmt.Errorf("locking state %s: %w", b, err)
	}
	b.lease, b.renewal = l, nil

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // renew until unlocked
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			rctx, cancel := context.WithTimeout(context.Background(), every)
			err := l.Renew(rctx)
			if err == nil {
				_ = l.SetMetadata(rctx, holderMeta(h, time.Now().Add(d))) // informative only
			}
			cancel()
			b.mu.Lock()
			b.renewal = err
			b.mu.Unlock()
		}
	}()
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			close(stop)
			<-done
			rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			uerr = l.Release(rctx)
			b.mu.Lock()
			b.lease = nil
			b.mu.Unlock()
		})
		return uerr
	}, nil
}

// holderMeta is the lock blob's metadata: who holds the lease, and the time
// it runs to unless renewed.
// Values are HTTP header values: empty ones are left out and anything but
// printable ASCII becomes '?'.
func holderMeta(h Holder, until time.Time) map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{"pid": strconv.Itoa(h.PID), "host": h.Host, "since": h.Since,
		"until": until.UTC().Truncate(time.Second).Format(time.RFC3339)} {
		v = strings.Map(func(r rune) rune {
			if r < 0x20 || r > 0x7e {
				return '?'
			}
			return r
		}, strings.TrimSpace(v))
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func lockedFromMeta(store string, le *blob.LeasedError) *LockedError {
	e := &LockedError{Store: store, Lease: le.URL, Until: le.Metadata["until"]}
	e.Holder.PID, _ = strconv.Atoi(le.Metadata["pid"])
	e.Holder.Host, e.Holder.Since = le.Metadata["host"], le.Metadata["since"]
	return e
}

// Read implements Store. It remembers the document's ETag: Write replaces
// only that version.
func (b *Blob) Read(ctx context.Context) ([]byte, error) {
	data, etag, err := b.store.ReadBlob(ctx, b.store.Target().Join(BlobStateName))
	b.mu.Lock()
	defer b.mu.Unlock()
	b.etag = etag    // "" on error: a later Write then only creates, never replaces
	return data, err // wraps fs.ErrNotExist when there is no state yet
}

// Write implements Store: only while this run holds the lease (renewed
// first, so that it is held for at least the lease's duration from here),
// and only over the version Read saw (or, when there was none, or Read did
// not run, only if there still is none).
func (b *Blob) Write(ctx context.Context, data []byte) error {
	b.mu.Lock()
	l, etag := b.lease, b.etag
	b.mu.Unlock()
	if l == nil {
		return fmt.Errorf("writing state %s without holding its lease: refused", b)
	}
	if err := l.Renew(ctx); err != nil {
		return fmt.Errorf("this run no longer holds the lease on state %s, so it writes nothing: %w", b, err)
	}
	newTag, err := b.store.WriteBlob(ctx, b.store.Target().Join(BlobStateName), data, etag, "application/json")
	if errors.Is(err, blob.ErrChanged) {
		return fmt.Errorf("state %s was changed by someone else since this run read it; not overwritten: %w", b, err)
	}
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.etag = newTag
	b.mu.Unlock()
	return nil
}

// RenewalError is the last background renewal's failure, nil when the last
// renewal succeeded (or none was due yet).
func (b *Blob) RenewalError() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.renewal
}
