package export

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/tidwall/gjson"
)

// recordKey is a record's identity and time, read from the bytes Graph sent.
// The key is "id" (sign-ins, audits, unified audit log records); a message
// trace row is one recipient of a message, so its key also carries
// recipientAddress. The time is the first of the log's own time properties.
//
// A Log Analytics workspace row (it has TimeGenerated) is keyed by its Id
// column, or by its bytes where the table has none (a re-read row is then
// recognised only when byte-identical, which is what the overlap needs).
func recordKey(rec []byte) (key string, t time.Time, ok bool) {
	r := gjson.GetManyBytes(rec, "id", "recipientAddress", "createdDateTime", "activityDateTime", "receivedDateTime", "TimeGenerated", "Id")
	key = r[0].String()
	if key == "" && r[5].Exists() {
		key = r[6].String()
		if key == "" {
			sum := sha256.Sum256(rec)
			key = "sha256:" + hex.EncodeToString(sum[:])
		}
	}
	if key == "" {
		return "", time.Time{}, false
	}
	if r[1].Exists() {
		key += "\x00" + r[1].String()
	}
	for _, f := range r[2:6] {
		if f.Exists() {
			if ts, err := time.Parse(time.RFC3339Nano, f.String()); err == nil {
				return key, ts.UTC(), true
			}
		}
	}
	return "", time.Time{}, false
}

// edgeID is a record's entry in a scope's edge: its key, its time and the
// first 8 bytes of the SHA-256 of its bytes.
func edgeID(rec []byte) (state.EdgeID, bool) {
	key, t, ok := recordKey(rec)
	if !ok {
		return state.EdgeID{}, false
	}
	sum := sha256.Sum256(rec)
	return state.EdgeID{Time: t.Format(time.RFC3339Nano), ID: key, Hash: hex.EncodeToString(sum[:8])}, true
}

// scopeFilter drops, for one source and scope, the records an earlier
// bundle of the series already holds byte for byte (the overlap re-read),
// counts the late ones it finds, and remembers every record seen, for the
// next run's edge. A record whose id was exported before but whose bytes
// changed (Entra republishes a sign-in with its risk, aggregates MFA details
// for up to two hours) is kept: both versions are evidence.
type scopeFilter struct {
	exact    map[string]bool // key + hash at the previous run's edge
	keys     map[string]bool // keys at the previous run's edge
	prevMark time.Time       // previous watermark (zero on a first run)
	ids      []state.EdgeID  // every record seen in this run (kept or dropped)
	dropped  int64           // already exported, identical: not written
	revised  int64           // exported before with other bytes: written again
	late     int64           // older than the previous watermark, never seen: written
	unkeyed  int64           // no id or time: always written
}

func newScopeFilter(prev *state.Scope, prevMark time.Time) *scopeFilter {
	f := &scopeFilter{exact: map[string]bool{}, keys: map[string]bool{}, prevMark: prevMark}
	if prev != nil {
		for _, r := range prev.Edge.Records {
			f.exact[r.ID+"\x00"+r.Hash] = true
			f.keys[r.ID] = true
		}
	}
	return f
}

// keep decides for one record.
func (f *scopeFilter) keep(rec []byte) bool {
	id, ok := edgeID(rec)
	if !ok {
		f.unkeyed++
		return true
	}
	f.ids = append(f.ids, id)
	t, _ := time.Parse(time.RFC3339Nano, id.Time)
	switch {
	case f.exact[id.ID+"\x00"+id.Hash]:
		f.dropped++
		return false
	case f.keys[id.ID]:
		f.revised++
	case !f.prevMark.IsZero() && t.Before(f.prevMark):
		f.late++
	}
	return true
}

// filterOutput wraps the bundle so that every sink passes records through
// the current scope's filter. One source may be collected several times
// (once per scope) into the same files: a path opened again gets the sink it
// already has.
type filterOutput struct {
	inner collect.Output
	mu    sync.Mutex
	sinks map[string]collect.Sink
	cur   *scopeFilter
}

func newFilterOutput(inner collect.Output) *filterOutput {
	return &filterOutput{inner: inner, sinks: map[string]collect.Sink{}}
}

// use makes f the filter of the records written from now on.
func (o *filterOutput) use(f *scopeFilter) {
	o.mu.Lock()
	o.cur = f
	o.mu.Unlock()
}

// Open implements collect.Output.
func (o *filterOutput) Open(path, source string, columns []collect.Column) (collect.Sink, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s, ok := o.sinks[path]; ok {
		return s, nil
	}
	inner, err := o.inner.Open(path, source, columns)
	if err != nil {
		return nil, err
	}
	s := &filterSink{o: o, inner: inner}
	o.sinks[path] = s
	return s, nil
}

type filterSink struct {
	o     *filterOutput
	inner collect.Sink
}

// Write implements collect.Sink.
//
// The filter's decision is taken under the output's lock: a source may write
// from several goroutines at once (the workspace reads tables concurrently),
// and the filter's maps, counts and the ids it remembers for the next run's
// edge are not safe for concurrent use. An id lost there was a record the
// next run's overlap re-read wrote a second time.
func (s *filterSink) Write(rec []byte) error {
	s.o.mu.Lock()
	keep := s.o.cur == nil || s.o.cur.keep(rec)
	s.o.mu.Unlock()
	if !keep {
		return nil
	}
	return s.inner.Write(rec)
}

// Create passes a raw file (the diagnostic-settings archive's blobs and
// index) to the bundle unfiltered: a blob is copied whole, once, because
// the archive's windows are whole hours read once each.
func (o *filterOutput) Create(rel, source, media string) (io.Writer, error) {
	raw, ok := o.inner.(interface {
		Create(rel, source, media string) (io.Writer, error)
	})
	if !ok {
		return nil, errors.New("export: the bundle cannot take raw files")
	}
	return raw.Create(rel, source, media)
}
