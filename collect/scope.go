package collect

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// Scope is what one query asked for. A record outside it means the service
// ignored (part of) the filter: such a record is not the subject's and is
// kept apart (ScopedSink), never mixed with the subject's records.
type Scope struct {
	// Window the record's time (at TimeProp) must fall in; End is exclusive
	// unless Inclusive (a closed interval asked in whole seconds).
	Window    Window
	TimeProp  string
	Inclusive bool
	// Require: every condition must hold.
	Require []Cond
}

// Cond holds when one of Paths (gjson paths; "#" for every element of an
// array) holds one of Values, compared case-insensitively.
type Cond struct {
	What   string // for the reason: "user", "app", "sign-in kind", "address"
	Paths  []string
	Values []string
}

func (c Cond) holds(g gjson.Result) bool {
	for _, p := range c.Paths {
		found := false
		r := g.Get(p) // one scan of the record for each path
		r.ForEach(func(_, v gjson.Result) bool {
			found = c.match(v.String())
			return !found
		})
		if !found && !r.IsArray() {
			found = c.match(r.String())
		}
		if found {
			return true
		}
	}
	return false
}

func (c Cond) match(s string) bool {
	if s == "" {
		return false
	}
	for _, v := range c.Values {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

// UserCond is the condition "the record names user u" at paths.
func UserCond(u User, paths ...string) Cond {
	vals := []string{u.ID}
	if u.UPN != "" {
		vals = append(vals, u.UPN)
	}
	return Cond{What: "user " + u.ID, Paths: paths, Values: vals}
}

// Outside returns why rec lies outside the scope, or "" when it does not.
// A record whose time cannot be read is judged by its other conditions.
func (s *Scope) Outside(rec []byte) string {
	if s == nil {
		return ""
	}
	g := record.View(rec) // used only within this call
	if s.TimeProp != "" {
		if t, err := time.Parse(time.RFC3339Nano, g.Get(s.TimeProp).String()); err == nil {
			after := !t.Before(s.Window.End)
			if s.Inclusive {
				after = t.After(s.Window.End)
			}
			if t.Before(s.Window.Start) || after {
				return fmt.Sprintf("%s %s outside the asked window %s", s.TimeProp, FormatTime(t), s.Window)
			}
		}
	}
	for _, c := range s.Require {
		if !c.holds(g) {
			return "not of the asked " + c.What
		}
	}
	return ""
}

// OutOfScopePath is the file beside a record file that holds the records
// Graph returned outside what was asked.
func OutOfScopePath(path string) string {
	return strings.TrimSuffix(path, ".jsonl") + manifest.OutOfScopeSuffix
}

// ScopedSink writes the records of one source, checking each against the
// scope of the query being run: a record outside it goes, byte-exact, to
// the out-of-scope file beside the source's file (opened on first use),
// and is counted.
type ScopedSink struct {
	out    Output
	path   string
	source string
	cols   []Column
	inner  Sink

	mu     sync.Mutex
	scope  *Scope
	oos    Sink
	n      int64
	first  string // the first reason, for the manifest
	opened bool
}

// NewScopedSink wraps inner, the sink of the record file path of source.
func NewScopedSink(out Output, path, source string, cols []Column, inner Sink) *ScopedSink {
	return &ScopedSink{out: out, path: path, source: source, cols: cols, inner: inner}
}

// SetScope sets the scope the next records are checked against; nil
// checks nothing.
func (s *ScopedSink) SetScope(sc *Scope) {
	s.mu.Lock()
	s.scope = sc
	s.mu.Unlock()
}

// Write implements Sink.
func (s *ScopedSink) Write(rec []byte) error { return s.WriteNoted(rec, nil) }

// WriteNoted implements NotedSink.
func (s *ScopedSink) WriteNoted(rec []byte, notes map[string]string) error {
	s.mu.Lock()
	sc := s.scope
	s.mu.Unlock()
	if why := sc.Outside(rec); why != "" {
		return s.outside(rec, why)
	}
	if ns, ok := s.inner.(NotedSink); ok && notes != nil {
		return ns.WriteNoted(rec, notes)
	}
	return s.inner.Write(rec)
}

// WriteBatch implements record.BatchSink: each record goes where Write
// would send it, the records in scope to the inner sink as one batch when
// it takes batches.
func (s *ScopedSink) WriteBatch(recs [][]byte) error {
	bs, ok := s.inner.(record.BatchSink)
	if !ok {
		for _, rec := range recs {
			if err := s.Write(rec); err != nil {
				return err
			}
		}
		return nil
	}
	s.mu.Lock()
	sc := s.scope
	s.mu.Unlock()
	in := make([][]byte, 0, len(recs))
	for _, rec := range recs {
		if why := sc.Outside(rec); why != "" {
			if err := s.outside(rec, why); err != nil {
				return err
			}
			continue
		}
		in = append(in, rec)
	}
	return bs.WriteBatch(in)
}

// InScope reports whether rec lies within the current scope.
func (s *ScopedSink) InScope(rec []byte) bool {
	s.mu.Lock()
	sc := s.scope
	s.mu.Unlock()
	return sc.Outside(rec) == ""
}

func (s *ScopedSink) outside(rec []byte, why string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oos == nil {
		o, err := s.out.Open(OutOfScopePath(s.path), manifest.OutOfScopeSource(s.source), s.cols)
		if err != nil {
			return err
		}
		s.oos, s.opened, s.first = o, true, why
	}
	s.n++
	return s.oos.Write(rec)
}

// Account records the records kept apart in src: the out-of-scope file in
// src.Files, their count in src.OutOfScope (they were counted in the
// windows' records, so src.Records drops them), and the reason.
func (s *ScopedSink) Account(src *manifest.Source) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return
	}
	p := OutOfScopePath(s.path)
	src.Files = append(src.Files, p, CSVPath(p))
	src.OutOfScope += s.n
	src.Records -= s.n
	reason := OutOfScopeReason(s.n, p, s.first)
	if src.Reason == "" {
		src.Reason = reason
	} else {
		src.Reason += "; " + reason
	}
}

// OutOfScopeReason is the one-line reason for records kept apart.
func OutOfScopeReason(n int64, path, first string) string {
	return fmt.Sprintf("Graph returned %d records outside the asked user/window; the filter may have been ignored (kept apart in %s; first: %s)", n, path, first)
}
