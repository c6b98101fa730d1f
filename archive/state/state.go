// Package state keeps what a scheduled export remembers between runs: per
// source and scope the watermark (everything before it is in a sealed bundle
// or recorded as lost), the ids seen at the overlap edge (so a re-read of the
// overlap never writes a record twice), the intervals known to be lost, and
// a hash-chained index of the sealed bundles, so that a missing, altered or
// reordered daily bundle is detectable.
//
// The state is one canonical JSON document behind a Store, which also gives
// the run its exclusive lock. Dir is the local Store (a directory, flock);
// Blob keeps it in Azure Blob Storage (a renewed lease, conditional
// uploads), through archive/blob.
//
// It lives under archive because it describes a series of sealed archives;
// it depends on manifest (canonical JSON, the time format) and, for Blob,
// on archive/blob.
package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
)

// Format names the state schema.
const Format = "evidence-export-state/1"

// ScopeTenant is the scope of a tenant-wide export; a per-user export uses
// the user's object id.
const ScopeTenant = "tenant"

// State is everything an export remembers.
type State struct {
	Format  string             `json:"format"`
	Tenant  Tenant             `json:"tenant"`
	Tier    string             `json:"tier,omitempty"` // licence tier seen by the last run: free, p1p2
	Sources map[string]*Source `json:"sources"`        // by collector: the --sources name, or signins.<kind>
	Index   []Entry            `json:"index"`          // sealed bundles, oldest first, hash-chained
	// Pending is the bundle of a cycle that was sealed but not yet
	// committed: written before the bundle is published, cleared when the
	// index records it. A run that finds it adopts the bundle if it is
	// published (same content hash) or discards it.
	Pending *Pending `json:"pending,omitempty"`
	Updated string   `json:"updated"` // RFC 3339 UTC, when the state was last written
}

// Pending is a sealed bundle on its way to being published and recorded:
// what the index and the sources become once it is.
type Pending struct {
	Bundle string `json:"bundle"` // the bundle's name (without .tar.zst)
	// Content is the SHA-256 of the bundle's SHA256SUMS: the same for the
	// directory, its archive and the blob, so a published copy is
	// recognised by what it holds.
	Content string             `json:"content"`
	Entry   Entry              `json:"entry"`   // the index entry, without location and SHA-256
	Tier    string             `json:"tier"`    // the tier the cycle planned with
	Sources map[string]*Source `json:"sources"` // every source's scopes after the cycle
}

// Tenant identifies the tenant a state belongs to; one state never mixes
// tenants.
type Tenant struct {
	ID     string `json:"id"`
	Domain string `json:"domain,omitempty"`
}

// Source holds a source's scopes.
type Source struct {
	Scopes map[string]*Scope `json:"scopes"` // ScopeTenant or a user object id
}

// Scope is the progress of one source over one scope.
type Scope struct {
	// Watermark: every record with a time before it is in a sealed bundle of
	// this export, or inside a recorded gap. RFC 3339 UTC.
	Watermark string `json:"watermark"`
	// Edge holds the ids of records already exported whose time is at or
	// after Edge.Start: the next run re-reads from there and drops them.
	Edge Edge `json:"edge"`
	// Gaps are intervals known to be lost (older than retention when the
	// export reached them).
	Gaps []Gap `json:"gaps,omitempty"`
}

// Edge is the set of records already exported near the watermark.
type Edge struct {
	Start   string   `json:"start"`   // RFC 3339 UTC; no id older than this is kept
	Records []EdgeID `json:"records"` // sorted by time, then id
}

// EdgeID is one already exported record version.
type EdgeID struct {
	Time string `json:"time"` // the record's own time, as Graph sent it (normalised to UTC)
	ID   string `json:"id"`   // the source's record key
	Hash string `json:"hash"` // first 16 hex digits of the SHA-256 of the record's bytes
}

// Gap is an interval lost for good, recorded once, with the bundle whose
// manifest also records it.
type Gap struct {
	manifest.Window
	Reason string `json:"reason"`
	Bundle string `json:"bundle,omitempty"`
}

// Entry is one sealed bundle in the index. Prev is the Hash of the entry
// before it ("" for the first), so removing, altering or reordering an entry
// breaks the chain.
type Entry struct {
	Seq      int             `json:"seq"`      // 1, 2, ...
	Interval manifest.Window `json:"interval"` // the new data the bundle covers, UTC
	Bundle   string          `json:"bundle"`   // file name, e.g. evidence-export-...tar.zst
	Location string          `json:"location"` // where it was published (a path or URL)
	SHA256   string          `json:"sha256"`   // of the bundle file
	Complete bool            `json:"complete"` // the manifest's "complete"
	Sealed   string          `json:"sealed"`   // RFC 3339 UTC
	Prev     string          `json:"prev"`     // Hash of the previous entry
}

// Hash is the SHA-256 (hex) of the entry's canonical JSON.
func (e Entry) Hash() string {
	b, err := manifest.Canonical(e)
	if err != nil { // a struct of strings, ints and bools always encodes
		panic(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// New returns an empty state for a tenant.
func New(t Tenant) *State {
	return &State{Format: Format, Tenant: t, Sources: map[string]*Source{}}
}

// Scope returns the scope of a source, or nil when it was never exported.
func (s *State) Scope(source, scope string) *Scope {
	if src := s.Sources[source]; src != nil {
		return src.Scopes[scope]
	}
	return nil
}

// SetScope stores a scope's progress.
func (s *State) SetScope(source, scope string, sc *Scope) {
	src := s.Sources[source]
	if src == nil {
		src = &Source{Scopes: map[string]*Scope{}}
		s.Sources[source] = src
	}
	src.Scopes[scope] = sc
}

// Append adds a sealed bundle to the index, chaining it to the last entry,
// and returns it as stored.
func (s *State) Append(e Entry) Entry {
	e.Seq = len(s.Index) + 1
	e.Prev = s.Head()
	s.Index = append(s.Index, e)
	return e
}

// Head is the hash of the last index entry, "" when there is none.
func (s *State) Head() string {
	if len(s.Index) == 0 {
		return ""
	}
	return s.Index[len(s.Index)-1].Hash()
}

// Clone returns a deep copy, so a run can build the next state and throw it
// away if anything fails.
func (s *State) Clone() *State {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	var c State
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	if c.Sources == nil {
		c.Sources = map[string]*Source{}
	}
	return &c
}

// ChainProblem is one break in the index chain.
type ChainProblem struct {
	Seq    int    // the entry concerned (1-based)
	Reason string // what is wrong
}

// VerifyChain checks the index: sequence numbers 1..n, every Prev equal to
// the previous entry's Hash, intervals that do not run backwards. It returns
// nothing when the chain is intact.
func (s *State) VerifyChain() []ChainProblem {
	var out []ChainProblem
	prev := ""
	var lastEnd time.Time
	for i, e := range s.Index {
		if e.Seq != i+1 {
			out = append(out, ChainProblem{i + 1, fmt.Sprintf("sequence number %d where %d was expected (an entry was removed or inserted)", e.Seq, i+1)})
		}
		if e.Prev != prev {
			out = append(out, ChainProblem{i + 1, "previous-entry hash does not match: the entry before it was altered, removed or reordered"})
		}
		start, err1 := time.Parse(time.RFC3339Nano, e.Interval.Start)
		end, err2 := time.Parse(time.RFC3339Nano, e.Interval.End)
		switch {
		case err1 != nil || err2 != nil:
			out = append(out, ChainProblem{i + 1, "interval is not RFC 3339"})
		case !start.Before(end):
			out = append(out, ChainProblem{i + 1, "interval is empty or reversed"})
		case end.Before(lastEnd):
			out = append(out, ChainProblem{i + 1, "interval ends before the previous bundle's: entries reordered"})
		default:
			lastEnd = end
		}
		if len(e.SHA256) != 64 || strings.Trim(e.SHA256, "0123456789abcdef") != "" {
			out = append(out, ChainProblem{i + 1, "bundle SHA-256 is not 64 lowercase hex digits"})
		}
		prev = e.Hash()
	}
	return out
}

// Prune keeps the edge records at or after start and sorts them.
func (e *Edge) Prune(start time.Time) {
	e.Start = manifest.FormatTime(start)
	kept := e.Records[:0]
	seen := map[EdgeID]bool{}
	for _, r := range e.Records {
		t, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil || t.Before(start) || seen[r] {
			continue
		}
		seen[r] = true
		kept = append(kept, r)
	}
	sort.Slice(kept, func(i, j int) bool {
		if kept[i].Time != kept[j].Time {
			return kept[i].Time < kept[j].Time
		}
		if kept[i].ID != kept[j].ID {
			return kept[i].ID < kept[j].ID
		}
		return kept[i].Hash < kept[j].Hash
	})
	e.Records = kept
}

// ErrLocked is wrapped by Store.Lock when another run holds the state.
var ErrLocked = errors.New("another export holds the state")

// LockedError says who holds the lock, as far as the holder wrote it down.
type LockedError struct {
	Store  string
	Holder Holder // zero when unknown
	Lease  string // blob state: the URL of the leased lock blob
	Until  string // blob state: when the holder's lease ends unless renewed (RFC 3339 UTC)
}

// Error implements error.
func (e *LockedError) Error() string {
	s := "another export is running on state " + e.Store
	if e.Lease != "" {
		s = "another export holds the lease on " + e.Lease
	}
	if e.Holder.PID != 0 || e.Holder.Host != "" {
		s += fmt.Sprintf(" (pid %d on %s since %s)", e.Holder.PID, e.Holder.Host, e.Holder.Since)
	}
	if e.Until != "" {
		s += " until " + e.Until + ", renewed while it runs"
	}
	return s + "; this run changed nothing"
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Holder describes the run holding the lock.
type Holder struct {
	PID   int    `json:"pid"`
	Host  string `json:"host"`
	Since string `json:"since"` // RFC 3339 UTC
}

// Store holds one export's state and its lock.
type Store interface {
	// Lock takes the exclusive lock without waiting. When another run holds
	// it, the error wraps ErrLocked (a *LockedError). The returned function
	// releases it.
	Lock(ctx context.Context, h Holder) (unlock func() error, err error)
	// Read returns the stored state document; an error wrapping
	// fs.ErrNotExist when there is none yet.
	Read(ctx context.Context) ([]byte, error)
	// Write replaces the state document atomically: a reader sees the old or
	// the new document, never a mix, even after a crash.
	Write(ctx context.Context, b []byte) error
	// String names the store for messages (a path or URL without secrets).
	String() string
}

// Load reads and parses the state; (nil, nil) when there is none yet.
func Load(ctx context.Context, st Store) (*State, error) {
	b, err := st.Read(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state %s: %w", st, err)
	}
	var s State
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("state %s is not a valid %s document: %w", st, Format, err)
	}
	if s.Format != Format {
		return nil, fmt.Errorf("state %s has format %q; this version reads %q", st, s.Format, Format)
	}
	if s.Sources == nil {
		s.Sources = map[string]*Source{}
	}
	return &s, nil
}

// Save writes the state in canonical JSON.
func Save(ctx context.Context, st Store, s *State, now time.Time) error {
	s.Updated = manifest.FormatTime(now)
	b, err := manifest.Canonical(s)
	if err != nil {
		return err
	}
	if err := st.Write(ctx, append(b, '\n')); err != nil {
		return fmt.Errorf("writing state %s: %w", st, err)
	}
	return nil
}
