package ual

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest/durable"
)

// Task states.
const (
	taskPending   = "pending"   // not submitted yet
	taskSubmitted = "submitted" // created; status not final yet
	taskPaging    = "paging"    // succeeded; records being read
	taskDone      = "done"      // every page read
	taskFailed    = "failed"    // the query failed, timed out, or its pages kept failing
	taskSplit     = "split"     // reached the record limit; replaced by its two halves
)

// task is one query over one window. It is what the state file records, so
// that a killed run can be resumed: which queries exist, how far their
// records were read, and where those records are spooled.
type task struct {
	N        int       `json:"n"` // stable index, names the spool file
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Service  string    `json:"service,omitempty"`
	State    string    `json:"state"`
	QueryID  string    `json:"query_id,omitempty"`
	Body     string    `json:"body,omitempty"` // the POST body the service accepted
	Reused   bool      `json:"reused,omitempty"`
	NextLink string    `json:"next_link,omitempty"` // the page to read next ("" = the first)
	Offset   int64     `json:"offset"`              // spool bytes written up to NextLink
	Pages    int64     `json:"pages"`
	Records  int64     `json:"records"`
	Status   string    `json:"status,omitempty"` // the service's final query status
	Reason   string    `json:"reason,omitempty"`
	Limit    int64     `json:"limit,omitempty"` // recordCountLimit reported
	// Complete: the service said isRecordCountLimitExceeded: false, which
	// the v1.0 reference makes authoritative, so no record count splits
	// this query and its records can be written while they are read.
	Complete bool  `json:"complete,omitempty"`
	Children []int `json:"children,omitempty"`
	Parent   int   `json:"parent"` // -1 for an initial window

	live bool // its pages are being read by this run, into an open spool
}

func (t *task) window() collect.Window { return collect.Window{Start: t.Start, End: t.End} }

// stateFile is the persisted form of a run's tasks.
type stateFile struct {
	Version   int       `json:"version"`
	Window    [2]string `json:"window"`
	Filters   string    `json:"filters"` // fingerprint of the options: a resume must not mix queries
	Tasks     []*task   `json:"tasks"`
	Submitted int64     `json:"submitted"` // submissions made by every run so far
}

// state is the run's task list, saved after every change.
type state struct {
	dir     string
	mu      sync.Mutex
	cond    *sync.Cond // on mu: broadcast after every update
	stopped bool       // the workers are done
	f       stateFile
}

const stateName = "ual-state.json"

// loadState reads dir's state file, or returns nil when there is none.
func loadState(dir string) (*stateFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateName), err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("%s: unknown version %d", filepath.Join(dir, stateName), f.Version)
	}
	return &f, nil
}

// save writes the state durably (durable.Replace). Callers hold mu.
func (s *state) save() error {
	b, err := json.MarshalIndent(&s.f, "", " ")
	if err != nil {
		return err
	}
	if err := durable.WriteBytes(filepath.Join(s.dir, stateName), 0o600, durable.Replace, b); err != nil {
		return fmt.Errorf("saving the resume state: %w", err)
	}
	collect.KillPoint(StepState)
	return nil
}

// update applies fn to the state under the lock and saves it.
func (s *state) update(fn func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
	if s.cond != nil {
		s.cond.Broadcast()
	}
	return s.save()
}

// touch applies fn, which changes only what is not saved, under the lock
// and wakes the waiters.
func (s *state) touch(fn func()) {
	s.mu.Lock()
	fn()
	s.mu.Unlock()
	s.cond.Broadcast()
}

// spoolPath is where task n's records are kept until the bundle is written.
func (s *state) spoolPath(n int) string {
	return filepath.Join(s.dir, fmt.Sprintf("ual-%04d.jsonl", n))
}

// spool appends a task's records, one JSON object per line.
type spool struct {
	f *os.File
	w *bufio.Writer
	n int64 // bytes written
}

// openSpool opens task n's spool for appending at offset, dropping anything
// after it (a page written but not recorded in the state before a kill).
func (s *state) openSpool(n int, offset int64) (*spool, error) {
	f, err := os.OpenFile(s.spoolPath(n), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Size() < offset {
		f.Close()
		return nil, fmt.Errorf("spool %s is shorter (%d bytes) than its recorded offset %d", s.spoolPath(n), fi.Size(), offset)
	}
	if err := f.Truncate(offset); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(offset, 0); err != nil {
		f.Close()
		return nil, err
	}
	return &spool{f: f, w: bufio.NewWriterSize(f, 1<<20), n: offset}, nil
}

func (sp *spool) write(rec []byte) error {
	if _, err := sp.w.Write(rec); err != nil {
		return err
	}
	sp.n += int64(len(rec)) + 1
	return sp.w.WriteByte('\n')
}

// flush makes the written records visible to a later run (the OS keeps them
// across a killed process; a crash of the machine is caught by the size
// check in openSpool, which then re-reads the query from its first page).
func (sp *spool) flush() error { return sp.w.Flush() }

// spoolReader reads task t's spool up to the offset its state records,
// never past it: while t's pages are being read it waits for the next page
// to be recorded, and it ends (io.EOF) once t is final and every recorded
// byte was read. A run that stopped before t was final ends it with
// errStopped.
type spoolReader struct {
	st  *state
	t   *task
	f   *os.File
	pos int64
}

func (r *spoolReader) Read(p []byte) (int, error) {
	r.st.mu.Lock()
	for r.pos >= r.t.Offset && !terminal(r.t.State) && !r.st.stopped {
		r.st.cond.Wait()
	}
	end, final := r.t.Offset, terminal(r.t.State)
	r.st.mu.Unlock()
	if r.pos >= end {
		if final {
			return 0, io.EOF
		}
		return 0, errStopped
	}
	n, err := r.f.ReadAt(p[:min(int64(len(p)), end-r.pos)], r.pos)
	r.pos += int64(n)
	if err == io.EOF {
		err = nil
		if n == 0 {
			err = fmt.Errorf("spool %s ends at %d bytes, before its recorded offset %d", r.f.Name(), r.pos, end)
		}
	}
	return n, err
}

func (sp *spool) close() error {
	if err := sp.w.Flush(); err != nil {
		sp.f.Close()
		return err
	}
	return sp.f.Close()
}
