// Package bundle writes a bundle directory: the record files (JSON Lines as
// Graph sent them, plus a CSV view), the provenance log and the README, each
// hashed while it is written, then sealed with manifest.json and SHA256SUMS.
//
// A bundle is built in a hidden ".NAME.partial" directory and renamed to
// NAME only once sealed, so a directory named like a bundle is always a
// complete, sealed one.
package bundle

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/durable"
)

// Media types recorded in the manifest.
const (
	MediaJSONL = record.MediaJSONL
	MediaCSV   = record.MediaCSV
	MediaJSON  = "application/json"
	MediaText  = "text/plain; charset=utf-8"
	MediaHTML  = "text/html; charset=utf-8"
)

// Stage is a bundle directory being written.
type Stage struct {
	out, name, dir string

	mu     sync.Mutex
	files  map[string]*file
	sealed bool
	writes atomic.Uint64 // numbers the writes, across files
}

type file struct {
	path, source, media string
	f                   *os.File
	buf                 *retryWriter
	hw                  *manifest.HashWriter
	countLines          bool
	closed              bool
	writes              *atomic.Uint64
	last                atomic.Uint64 // the number of its last write
	rehash              bool          // trimmed: hashed again from disk at Seal
	kept                int64         // the lines left by the trim
}

// Write implements io.Writer through the hash.
func (f *file) Write(p []byte) (int, error) {
	f.last.Store(f.writes.Add(1))
	return f.hw.Write(p)
}

// close writes out the file's buffered bytes, syncs and closes it. When the
// disk is full it stays open with those bytes buffered, so that a Seal
// retried once there is room (or once other files were dropped to make
// some) writes exactly the bytes that were hashed.
func (f *file) close() error {
	if f.closed {
		return nil
	}
	if err := f.buf.Flush(); err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	f.closed = true
	return f.f.Close()
}

// Create starts a bundle named name inside out. It refuses to reuse an
// existing bundle or partial directory.
func Create(out, name string) (*Stage, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("bundle name %q is not a plain file name", name)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("--out %s: %w", out, err)
	}
	if _, err := os.Lstat(filepath.Join(out, name)); err == nil {
		return nil, fmt.Errorf("%s already exists: a bundle is never overwritten", filepath.Join(out, name))
	}
	dir := filepath.Join(out, "."+name+".partial")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return &Stage{out: out, name: name, dir: dir, files: map[string]*file{}}, nil
}

// Name is the bundle's final name.
func (s *Stage) Name() string { return s.name }

// Rename changes the name the bundle gets at Commit; the directory being
// written keeps its hidden partial name until then.
func (s *Stage) Rename(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("bundle name %q is not a plain file name", name)
	}
	if _, err := os.Lstat(filepath.Join(s.out, name)); err == nil {
		return fmt.Errorf("%s already exists: a bundle is never overwritten", filepath.Join(s.out, name))
	}
	s.name = name
	return nil
}

// Dir is the directory being written.
func (s *Stage) Dir() string { return s.dir }

// Create opens a new file at rel (slash-separated, relative to the bundle
// root) whose bytes are hashed as they are written.
func (s *Stage) Create(rel, source, media string) (io.Writer, error) {
	f, err := s.create(rel, source, media)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (s *Stage) create(rel, source, media string) (*file, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sealed {
		return nil, errors.New("bundle already sealed")
	}
	clean := path.Clean(rel)
	if clean != rel || path.IsAbs(rel) || strings.HasPrefix(rel, "../") || rel == ".." || strings.Contains(rel, `\`) {
		return nil, fmt.Errorf("bundle path %q is not a clean relative path", rel)
	}
	if rel == manifest.ManifestName || rel == manifest.SumsName || s.files[rel] != nil {
		return nil, fmt.Errorf("bundle path %q is already taken", rel)
	}
	full := filepath.Join(s.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return nil, err
	}
	fh, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	buf := &retryWriter{f: fh, buf: make([]byte, 0, 256<<10)}
	f := &file{path: rel, source: source, media: media, f: fh, buf: buf, hw: manifest.NewHashWriter(buf), countLines: media == MediaJSONL, writes: &s.writes}
	s.files[rel] = f
	return f, nil
}

// Flush writes out what was written so far, so it can be read back from Dir
// before sealing: the named files (each must be open), or every open file
// when none is named (the report page reads the records this way). Files
// stay open; hashes are unaffected.
func (s *Stage) Flush(rels ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(rels) == 0 {
		for p, f := range s.files {
			if f.closed {
				continue
			}
			if err := f.buf.Flush(); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	}
	for _, rel := range rels {
		f := s.files[rel]
		if f == nil || f.closed {
			return fmt.Errorf("bundle path %q is not open", rel)
		}
		if err := f.buf.Flush(); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
	}
	return nil
}

// Open implements collect.Output: a JSON Lines file at rel and its CSV view
// beside it, written by record.Writer.
func (s *Stage) Open(rel, source string, columns []record.Column) (record.Sink, error) {
	jf, err := s.create(rel, source, MediaJSONL)
	if err != nil {
		return nil, err
	}
	cf, err := s.create(record.CSVPath(rel), source, MediaCSV)
	if err != nil {
		return nil, err
	}
	return record.NewWriter(jf, cf, columns)
}

// Seal closes every file, completes m.Files from what was written, and
// writes manifest.json and SHA256SUMS (covering every file, manifest.json
// included). After Seal nothing more can be written. A Seal that fails (a
// full disk) can be run again: each file keeps the bytes it could not
// write, and neither manifest.json nor SHA256SUMS is left behind.
func (s *Stage) Seal(m *manifest.Manifest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sealed {
		return errors.New("bundle already sealed")
	}
	var paths []string
	for p, f := range s.files {
		if err := f.close(); err != nil {
			return fmt.Errorf("sealing: %w", err)
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)
	m.Files = m.Files[:0]
	var sums []manifest.Sum
	for _, p := range paths {
		f := s.files[p]
		hw := f.hw
		if f.rehash {
			var err error
			if hw, err = hashFile(filepath.Join(s.dir, filepath.FromSlash(p))); err != nil {
				return fmt.Errorf("sealing: %w", err)
			}
		}
		mf := manifest.File{Path: p, Size: hw.Size(), SHA256: hw.Sum(), Source: f.source, MediaType: f.media}
		if f.countLines {
			n := hw.Lines()
			mf.Records = &n
		}
		m.Files = append(m.Files, mf)
		sums = append(sums, manifest.Sum{Path: p, SHA256: mf.SHA256})
	}
	b, err := manifest.Canonical(m)
	if err != nil {
		return fmt.Errorf("sealing manifest: %w", err)
	}
	// A Seal that fails leaves neither file, so that it can be run again
	// (removeSeal: the Seal's own error is the one said).
	mh, err := s.writeWhole(manifest.ManifestName, b)
	if err != nil {
		s.removeSeal()
		return err
	}
	sums = append(sums, manifest.Sum{Path: manifest.ManifestName, SHA256: mh})
	var sb strings.Builder
	if err := manifest.WriteSums(&sb, sums); err != nil {
		s.removeSeal()
		return fmt.Errorf("sealing: %w", err)
	}
	if _, err := s.writeWhole(manifest.SumsName, []byte(sb.String())); err != nil {
		s.removeSeal()
		return err
	}
	if err := durable.SyncDir(s.dir); err != nil {
		s.removeSeal()
		return err
	}
	s.sealed = true
	return nil
}

// Unseal undoes a Seal whose bundle could not be completed (the disk
// filled while SHA256SUMS was signed, time-stamped or its custody log
// started): manifest.json, SHA256SUMS and what was written beside them are
// removed, so that files can be dropped and the bundle sealed again.
func (s *Stage) Unseal() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.removeSeal(); err != nil {
		return fmt.Errorf("unsealing %s: %w", s.dir, err)
	}
	s.sealed = false
	return nil
}

// removeSeal removes manifest.json, SHA256SUMS and the seal's files beside
// them, those that are there. Callers hold mu.
func (s *Stage) removeSeal() error {
	var errs []error
	for _, n := range []string{manifest.CustodyLogName, manifest.TimestampName, manifest.SigName, manifest.SumsName, manifest.ManifestName} {
		if err := os.Remove(filepath.Join(s.dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeWhole writes a small file in one go, durably, and returns its hash.
func (s *Stage) writeWhole(rel string, b []byte) (string, error) {
	full := filepath.Join(s.dir, rel)
	fh, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("sealing %s: %w", rel, err)
	}
	hw := manifest.NewHashWriter(fh)
	if _, err := hw.Write(b); err != nil {
		fh.Close()
		return "", fmt.Errorf("sealing %s: %w", rel, err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return "", fmt.Errorf("sealing %s: %w", rel, err)
	}
	return hw.Sum(), fh.Close()
}

// Commit renames the sealed directory to its final name and returns the path.
func (s *Stage) Commit() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sealed {
		return "", errors.New("bundle not sealed")
	}
	final := filepath.Join(s.out, s.name)
	if err := os.Rename(s.dir, final); err != nil {
		return "", fmt.Errorf("committing bundle: %w", err)
	}
	s.dir = final
	return final, durable.SyncDir(s.out)
}

// DropMedia closes and removes every file of the media type (the CSV views,
// MediaCSV) and returns their paths, sorted: a partial bundle sealed on a
// full disk leaves out what can be made again from the records, to make
// room for sealing them. The bytes the other files hold are unaffected.
func (s *Stage) DropMedia(media string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sealed {
		return nil, errors.New("bundle already sealed")
	}
	var dropped []string
	for p, f := range s.files {
		if f.media != media {
			continue
		}
		if err := s.drop(p, f); err != nil {
			return dropped, err
		}
		dropped = append(dropped, p)
	}
	sort.Strings(dropped)
	return dropped, nil
}

// Has reports whether the file at rel is part of the bundle being written.
func (s *Stage) Has(rel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[rel] != nil
}

// Remove closes and removes the file at rel, written in part or whole (a
// page that could not be written): the bundle is sealed without it.
func (s *Stage) Remove(rel string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[rel]
	if f == nil || s.sealed {
		return fmt.Errorf("bundle path %q is not open", rel)
	}
	return s.drop(rel, f)
}

func (s *Stage) drop(rel string, f *file) error {
	if !f.closed {
		f.closed = true
		f.f.Close() // its unwritten bytes are dropped with it
	}
	delete(s.files, rel)
	if err := os.Remove(filepath.Join(s.dir, filepath.FromSlash(rel))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", rel, err)
	}
	return nil
}

// TrimSource keeps the first keep lines of the JSON Lines files written for
// source (among paths, when given) and drops the lines written after them,
// latest first: the records of a page a full disk cut short, which the
// source did not count. It returns how many lines it dropped. Each file
// trimmed is hashed again from disk at Seal; the lines kept are unchanged.
func (s *Stage) TrimSource(source string, paths []string, keep int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fs []*file
	var total int64
	for p, f := range s.files {
		if f.source != source || !f.countLines || f.closed || (len(paths) > 0 && !slices.Contains(paths, p)) {
			continue
		}
		fs = append(fs, f)
		total += f.lines()
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].last.Load() > fs[j].last.Load() })
	excess := total - keep
	var dropped int64
	for _, f := range fs {
		if excess <= 0 {
			break
		}
		n := min(excess, f.lines())
		if err := f.trim(f.lines() - n); err != nil {
			return dropped, err
		}
		excess -= n
		dropped += n
	}
	return dropped, nil
}

// lines is the lines written to f, trimmed or not.
func (f *file) lines() int64 {
	if f.rehash {
		return f.kept
	}
	return f.hw.Lines()
}

// trim cuts f after its first keep lines.
func (f *file) trim(keep int64) error {
	if err := f.buf.Flush(); err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	rf, err := os.Open(f.f.Name())
	if err != nil {
		return err
	}
	defer rf.Close()
	var off, seen int64
	br := bufio.NewReaderSize(rf, 1<<20)
	for seen < keep {
		line, err := br.ReadSlice('\n')
		off += int64(len(line))
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: reading back: %w", f.path, err)
		}
		seen++
	}
	if err := f.f.Truncate(off); err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	if _, err := f.f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	f.buf.size = off
	f.rehash, f.kept = true, keep
	return nil
}

// hashFile hashes and counts the file at path as it is on disk.
func hashFile(path string) (*manifest.HashWriter, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	hw := manifest.NewHashWriter(nil)
	if _, err := io.Copy(hw, fh); err != nil {
		return nil, fmt.Errorf("hashing %s: %w", path, err)
	}
	return hw, nil
}

// retryWriter buffers a file's writes like bufio.Writer, except that a
// failed write is not final: a write is taken whole or not at all (a record
// and its newline are never cut), and the bytes taken but not yet on disk
// when the disk filled stay buffered, so that a later Flush, once there is
// room again, writes exactly the bytes that were hashed.
type retryWriter struct {
	f    *os.File
	buf  []byte
	size int64 // bytes on disk
	wb   durable.Writeback
}

// wrote counts n bytes written; the file's writeback to the disk starts as
// it grows, so that the fsync at Seal does not wait for all of it.
func (w *retryWriter) wrote(n int) {
	w.size += int64(n)
	w.wb.At(w.f, w.size)
}

func (w *retryWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > cap(w.buf) {
		if err := w.Flush(); err != nil {
			return 0, err
		}
	}
	if len(p) <= cap(w.buf) {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	n, err := w.f.Write(p)
	if err != nil { // take none of it
		if terr := w.f.Truncate(w.size); terr != nil {
			return 0, errors.Join(err, terr)
		}
		if _, serr := w.f.Seek(w.size, io.SeekStart); serr != nil {
			return 0, errors.Join(err, serr)
		}
		return 0, err
	}
	w.wrote(n)
	return n, nil
}

// Flush writes the buffered bytes; what a failure leaves unwritten stays
// buffered for the next Flush.
func (w *retryWriter) Flush() error {
	n, err := w.f.Write(w.buf)
	w.wrote(n)
	w.buf = w.buf[:copy(w.buf, w.buf[n:])]
	return err
}

// Abort removes the partial directory; a failed run leaves nothing that
// looks like a bundle.
func (s *Stage) Abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		if f.close() != nil && !f.closed {
			f.closed = true
			f.f.Close()
		}
	}
	if strings.HasSuffix(s.dir, ".partial") {
		os.RemoveAll(s.dir)
	}
}
