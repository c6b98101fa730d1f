package export

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/durable"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// QuarantineDir is the folder, beside the bundles of an export's --out,
// where a run moves the bundles it found on disk without an index entry
// and could not adopt (another export's, a copy, one that does not
// verify), each with NAME.quarantined.txt saying why. Nothing in it is
// removed by a run; export status lists it.
const QuarantineDir = "quarantine"

// quarantineNote is the suffix of the file that says why a bundle was
// quarantined.
const quarantineNote = ".quarantined.txt"

// Quarantined is a bundle moved into QuarantineDir.
type Quarantined struct {
	Path   string // where it was found
	To     string // where it is now; "" for a blob, which is never moved
	Reason string
}

// orphan is a bundle on disk or in the blob container that the index does
// not hold, as read.
type orphan struct {
	path    string      // a local path, or the blob's URL
	blob    *blob.Store // set for a blob (a blob is never moved: it is named)
	sum     string      // the index's SHA-256: of the archive, or of a directory's SHA256SUMS
	m       *manifest.Manifest
	records map[string][]state.EdgeID // edge ids of the records of each .jsonl file
	problem string                    // why it cannot be adopted at all ("" when it verifies)
}

// settleOrphans adopts, in chain order, every bundle on disk (in --out and
// beside the index's local bundles) that the index does not hold but that
// this export sealed as the next link of its chain: it verifies where it
// lies (every hash, the seal, signed by this run's key when it signs), its
// manifest names this state, this tenant and the index head as the
// previous entry, and its content is not already indexed. The watermarks
// and the lost intervals come from its manifest, and each scope's edge from
// the records it holds, so the next cycle neither reads its interval again
// nor keeps a record of its overlap twice. Every other such bundle is moved
// into QuarantineDir with the reason. A bundle an interrupted run published
// is normally the state's pending cycle (settlePending); this finds it when
// the pending record itself was lost (a state restored from an older copy).
//
// A first run (st nil: a fresh state) does the same with what an earlier
// state left in --out and, with a blob output, under its --blob-url: the
// bundles that this state path sealed as the first links of its chain are
// adopted in order (the state takes their tenant), and the others are
// quarantined, or, for a blob, which is never moved, named (Quarantined
// with no To). The state stays nil when nothing is adopted.
func settleOrphans(ctx context.Context, cfg *Config, st *state.State) (*state.State, []state.Entry, []Quarantined, error) {
	fresh := st == nil
	if fresh {
		st = state.New(state.Tenant{})
	}
	paths, err := Orphans(st, append(localDirs(st), cfg.Pipeline.Out)...)
	if err != nil {
		return nil, nil, nil, err
	}
	signer := cfg.Pipeline.Seal.Signer
	var found []*orphan
	for _, p := range paths {
		found = append(found, readOrphan(ctx, p, signer))
	}
	if fresh {
		found = append(found, orphanBlobs(ctx, cfg, st)...)
	}
	if len(found) == 0 {
		if fresh {
			return nil, nil, nil, nil
		}
		return st, nil, nil, nil
	}
	var adopted []state.Entry
	done := map[*orphan]bool{}
	for progress := true; progress; {
		progress = false
		for _, o := range found {
			if done[o] || o.problem != "" || fits(cfg, st, o) != "" {
				continue
			}
			next, entry := adoptOrphan(cfg, st, o)
			if err := state.Save(ctx, cfg.Store, next, cfg.Now); err != nil {
				return nil, nil, nil, err
			}
			if log := cfg.Pipeline.Log; log != nil {
				log.Info("adopted a bundle on disk that the index did not hold", "bundle", o.path, "seq", entry.Seq)
			}
			cfg.hook(StepAdopt)
			st, done[o], progress = next, true, true
			adopted = append(adopted, entry)
		}
	}
	var moved []Quarantined
	for _, o := range found {
		if done[o] {
			continue
		}
		why := copyOf(st, o)
		if why == "" {
			why = o.problem
		}
		if why == "" {
			why = fits(cfg, st, o)
		}
		if o.blob != nil {
			if log := cfg.Pipeline.Log; log != nil {
				log.Warn("a bundle in the blob container that the index does not hold was not adopted", "bundle", o.path, "reason", why)
			}
			moved = append(moved, Quarantined{Path: o.path, Reason: why})
			continue
		}
		q, err := quarantine(o.path, why, cfg.Now)
		if err != nil {
			return nil, nil, nil, err
		}
		if log := cfg.Pipeline.Log; log != nil {
			log.Warn("quarantined a bundle on disk that the index does not hold", "bundle", o.path, "to", q.To, "reason", why)
		}
		moved = append(moved, q)
	}
	if fresh && len(adopted) == 0 {
		st = nil
	}
	return st, adopted, moved, nil
}

// orphanBlobs reads the orphans under the run's blob output (OrphanBlobs).
// A container that cannot be listed (a SAS without the List permission) is
// a warning: the run goes on, and `export status --blob-url` says it too.
func orphanBlobs(ctx context.Context, cfg *Config, st *state.State) []*orphan {
	var found []*orphan
	for _, out := range cfg.Pipeline.Outputs {
		b, ok := out.(pipeline.Blob)
		if !ok || b.Open == nil {
			continue
		}
		ts, err := OrphanBlobs(ctx, st, b.Store)
		if err != nil {
			if log := cfg.Pipeline.Log; log != nil {
				log.Warn("the blob container could not be listed for bundles an earlier state left there", "blob_url", b.Store.Target().String(), "err", err)
			}
			continue
		}
		for _, t := range ts {
			s, err := b.Open(t)
			if err != nil {
				found = append(found, &orphan{path: t.String(), problem: err.Error()})
				continue
			}
			found = append(found, readOrphanBlob(ctx, s, cfg.Pipeline.Seal.Signer))
		}
	}
	return found
}

// readOrphan verifies the bundle at path (a directory or an archive) and
// reads its manifest and its records' edge ids.
func readOrphan(ctx context.Context, path string, signer seal.Signer) *orphan {
	o := &orphan{path: path, records: map[string][]state.EdgeID{}}
	var res *manifest.Result
	var err error
	fi, err := os.Stat(path)
	if err != nil {
		o.problem = err.Error()
		return o
	}
	if fi.IsDir() {
		if res, err = manifest.VerifyDir(path); err == nil {
			o.sum, err = pipeline.DirSHA256(path)
		}
	} else {
		o.sum, _, err = pipeline.ReadPublished(ctx, pipeline.Published{Path: path}, func(r io.Reader) (err error) {
			res, err = archive.VerifyReader(r)
			return err
		})
	}
	if err == nil {
		_, err = pipeline.CheckOwnSeal(res, path, signer)
	}
	if !o.verified(res, err) {
		return o
	}
	o.readRecords(func(read func(string, io.Reader) error, want map[string]bool) error {
		if !fi.IsDir() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			return archive.Walk(f, read)
		}
		for name := range want {
			f, err := os.Open(filepath.Join(path, filepath.FromSlash(name)))
			if os.IsNotExist(err) {
				continue
			}
			if err == nil {
				err = read(name, f)
				f.Close()
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return o
}

// readOrphanBlob is readOrphan for the blob s names: streamed once to
// verify it (every hash, the seal) and hash it, once more for its records.
func readOrphanBlob(ctx context.Context, s *blob.Store, signer seal.Signer) *orphan {
	o := &orphan{path: s.Target().String(), blob: s, records: map[string][]state.EdgeID{}}
	res, rep, err := pipeline.ReadBlob(ctx, s)
	if err == nil {
		o.sum = rep.SHA256
		// no custody log beside a blob: the seal is checked by the name
		// without the archive suffix
		_, err = pipeline.CheckOwnSeal(res, strings.TrimSuffix(path.Base(s.Target().Path), manifest.ArchiveSuffix), signer)
	}
	if !o.verified(res, err) {
		return o
	}
	o.readRecords(func(read func(string, io.Reader) error, _ map[string]bool) error {
		sum, _, err := pipeline.ReadPublished(ctx, pipeline.Published{Store: s}, func(r io.Reader) error { return archive.Walk(r, read) })
		if err == nil && sum != o.sum {
			err = fmt.Errorf("it changed while it was read (SHA-256 %s, then %s)", o.sum, sum)
		}
		return err
	})
	return o
}

// verified records why o cannot be adopted when its verification (res,
// err) failed or it is not an export bundle; otherwise its manifest.
func (o *orphan) verified(res *manifest.Result, err error) bool {
	switch {
	case err != nil:
		o.problem = "it does not verify: " + err.Error()
	case !res.OK():
		o.problem = "it does not verify: " + pipeline.DescribeProblems(res)
	case res.Manifest == nil || res.Manifest.Export == nil:
		o.problem = "it is not an export bundle (its manifest has no export section)"
	default:
		o.m = res.Manifest
		return true
	}
	return false
}

// readRecords reads the edge ids of the records of each .jsonl file the
// manifest names, through walk (which hands each wanted file to read).
func (o *orphan) readRecords(walk func(read func(string, io.Reader) error, want map[string]bool) error) {
	want := map[string]bool{}
	for _, s := range o.m.Sources {
		for _, f := range s.Files {
			if strings.HasSuffix(f, ".jsonl") {
				want[f] = true
			}
		}
	}
	read := func(name string, r io.Reader) error {
		if !want[name] {
			return nil
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			if id, ok := edgeID(sc.Bytes()); ok {
				o.records[name] = append(o.records[name], id)
			}
		}
		return sc.Err()
	}
	if err := walk(read, want); err != nil {
		o.problem = "its records cannot be read: " + err.Error()
	}
}

// fits says why a verified orphan is not the next link of st's chain, ""
// when it is.
func fits(cfg *Config, st *state.State, o *orphan) string {
	if c := copyOf(st, o); c != "" {
		return c
	}
	e := o.m.Export
	switch {
	case e.State != cfg.Store.String():
		return fmt.Sprintf("another export sealed it (state %s, not %s)", e.State, cfg.Store)
	case st.Tenant.ID != "" && !strings.EqualFold(o.m.Tenant.ID, st.Tenant.ID): // "": a fresh state takes the first one's
		return fmt.Sprintf("it holds tenant %s, this state tenant %s", o.m.Tenant.ID, st.Tenant.ID)
	case e.Sequence >= 1 && e.Sequence <= len(st.Index):
		return fmt.Sprintf("it was sealed as bundle %d, which the index records as %s: its interval was exported again", e.Sequence, st.Index[e.Sequence-1].Bundle)
	case e.Sequence != len(st.Index)+1 || e.Previous != st.Head():
		return fmt.Sprintf("it was sealed as bundle %d after index entry %.16s, which is not where this index ends (%d entries, head %.16s)", e.Sequence, e.Previous, len(st.Index), st.Head())
	}
	return ""
}

// copyOf says which index entry o is a byte-identical copy of, "" when
// none.
func copyOf(st *state.State, o *orphan) string {
	for _, ie := range st.Index {
		if o.sum != "" && ie.SHA256 == o.sum {
			return fmt.Sprintf("it is a copy of bundle %d, %s, which the index holds", ie.Seq, ie.Location)
		}
	}
	return ""
}

// adoptOrphan returns the state that records o as the next index entry,
// with every scope moved as the cycle that sealed it would have moved it.
func adoptOrphan(cfg *Config, st *state.State, o *orphan) (*state.State, state.Entry) {
	next := st.Clone()
	name := path.Base(filepath.ToSlash(o.path))
	for _, src := range o.m.Sources {
		if src.Export == nil {
			continue
		}
		base, _, _ := strings.Cut(src.Name, ".")
		pol, _ := PolicyOf(src.Name)
		overlap := pol.Overlap
		if d, ok := cfg.Overlap[base]; ok {
			overlap = d
		}
		var ids []state.EdgeID
		for _, f := range src.Files {
			ids = append(ids, o.records[f]...)
		}
		for _, es := range src.Export.Scopes {
			commitScope(next, adoptedRun(src, es, pol, overlap, ids), name)
		}
	}
	if l := o.m.Tenant.License; l == TierFree || l == TierPremium {
		next.Tier = l
	}
	if next.Tenant.ID == "" {
		next.Tenant = state.Tenant{ID: o.m.Tenant.ID, Domain: o.m.Tenant.Domain}
	}
	loc, err := filepath.Abs(o.path) // as the pipeline records a local bundle
	if err != nil || o.blob != nil {
		loc = o.path
	}
	entry := next.Append(state.Entry{Interval: o.m.Export.Interval, Bundle: name, Location: loc, SHA256: o.sum,
		Complete: o.m.Complete, Sealed: o.m.CollectionEnd})
	return next, entry
}

// adoptedRun rebuilds, from a manifest's record of one scope, the run that
// commitScope moves the state with. The edge gets the ids of every record
// the bundle holds for the source (every scope's: an id too many only
// drops a record byte-identical to one already sealed); the records the
// cycle dropped as already exported are in the previous edge already.
func adoptedRun(src manifest.Source, es manifest.ExportScope, pol Policy, overlap time.Duration, ids []state.EdgeID) *scopeRun {
	parse := func(s string) time.Time { t, _ := time.Parse(time.RFC3339Nano, s); return t }
	p := &scopePlan{source: src.Name, scope: es.Scope, readFrom: parse(es.ReadFrom), overlap: overlap}
	p.from = p.readFrom
	if es.Previous != "" {
		p.from = parse(es.Previous)
	}
	p.to = parse(es.Watermark)
	for _, g := range src.Missing {
		if g.Status == manifest.StatusClamped && g.Scope == es.Scope {
			p.gap = &g
		}
	}
	r := &scopeRun{plan: p, advanced: es.Advanced}
	if !es.Advanced && p.to.Equal(p.from) && p.gap == nil && len(ids) == 0 {
		return r // nothing was read: commitScope keeps the scope as it was
	}
	if !es.Advanced {
		// read but not completed: not empty, so commitScope keeps every id
		// since the re-read start and leaves the watermark where it was
		p.from, p.to = p.readFrom, p.readFrom.Add(time.Nanosecond)
	}
	if !pol.Whole {
		r.filter = &scopeFilter{ids: ids}
	}
	return r
}

// quarantine moves the bundle at path, with the custody log and upload
// receipt beside it, into QuarantineDir beside it, and writes why.
func quarantine(path, why string, now time.Time) (Quarantined, error) {
	dir := filepath.Join(filepath.Dir(path), QuarantineDir)
	q := Quarantined{Path: path, To: filepath.Join(dir, filepath.Base(path)), Reason: why}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return q, err
	}
	note := fmt.Sprintf("%s was found in %s on %s without an index entry and was not adopted: %s\n",
		filepath.Base(path), filepath.Dir(path), manifest.FormatTime(now), why)
	if err := durable.WriteBytes(filepath.Join(dir, filepath.Base(path)+quarantineNote), 0o644, durable.Replace, []byte(note)); err != nil {
		return q, err
	}
	for _, suffix := range []string{"", manifest.CustodySuffix, ".upload.json"} {
		err := os.Rename(path+suffix, q.To+suffix)
		if err != nil && !(suffix != "" && os.IsNotExist(err)) {
			return q, fmt.Errorf("quarantine %s: %w", path+suffix, err)
		}
	}
	return q, nil
}

// QuarantinedBundles lists the bundles in the QuarantineDir of each of
// dirs, with the reason recorded when each was moved.
func QuarantinedBundles(dirs ...string) []Quarantined {
	var out []Quarantined
	for _, d := range dirs {
		qd := filepath.Join(d, QuarantineDir)
		ents, _ := os.ReadDir(qd)
		for _, e := range ents {
			n := e.Name()
			if !strings.HasPrefix(n, bundlePrefix) || strings.HasSuffix(n, quarantineNote) || strings.HasSuffix(n, manifest.CustodySuffix) || strings.HasSuffix(n, ".upload.json") {
				continue
			}
			why, _ := os.ReadFile(filepath.Join(qd, n+quarantineNote))
			out = append(out, Quarantined{To: filepath.Join(qd, n), Reason: strings.TrimSpace(string(why))})
		}
	}
	slices.SortFunc(out, func(a, b Quarantined) int { return strings.Compare(a.To, b.To) })
	return out
}
