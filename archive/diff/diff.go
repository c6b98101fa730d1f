// Package diff compares what two sealed bundles say the tenant looked like:
// the snapshot of the subject's persistence, the tenant posture and the
// security signals. Those sources hold objects as they were when collected
// (state), not events, so comparing two days' bundles tells a responder
// what an attacker (or anyone) added, removed or changed in between.
//
// Objects are matched by their Graph id within the same bundle file,
// property by property; properties that change without anyone changing the
// object (Volatile) are ignored. A file is compared only when both bundles
// collected it completely: a part refused or cut in either bundle is listed
// in Result.Skipped with the reason, never reported as objects that
// disappeared. Both bundles are verified before anything is read.
package diff

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/manifest"
)

// Format names the schema of diff.json.
const Format = "evidence-diff/1"

// File is the name of the comparison inside a bundle (export writes it).
const File = "diff.json"

// Namespace is the SSHSIG namespace of a signed comparison (FILE.sig).
const Namespace = "evidence-diff"

// StateSources are the sources whose records are objects as they are, not
// events: the ones compared.
var StateSources = []string{"snapshot", "tenant", "signals"}

// Events are the files of the state sources that hold events of the
// collection window, not objects as they are (the signals source's
// advanced hunting rows): two bundles of different windows differ there by
// design, so they are not compared.
var Events = []string{"signals/hunting-"}

// Windowed are state files that hold only the objects touched since the
// window's start (the signals source's alerts, asked for by last update):
// an object absent from the newer bundle was not touched again, not
// removed, so only what appeared or changed is reported there.
var Windowed = []string{"signals/security-alerts"}

func windowed(name string) bool {
	for _, w := range Windowed {
		if strings.HasPrefix(name, w) {
			return true
		}
	}
	return false
}

// Volatile lists the properties ignored when two versions of an object are
// compared, with why: they change without anyone changing the object. The
// name is matched at any depth.
var Volatile = map[string]string{
	"@odata.context":                "the address of the service that answered, not the object",
	"signInActivity":                "updated by every sign-in of the user",
	"approximateLastSignInDateTime": "updated by every sign-in from the device",
	"onPremisesLastSyncDateTime":    "updated by every directory synchronisation cycle",
	"totalItemCount":                "a mail folder's message count changes with every mail",
	"unreadItemCount":               "a mail folder's message count changes with every mail",
	"childFolderCount":              "changes when the user files mail into folders",
	"sizeInBytes":                   "a mail folder's size changes with every mail",
	"lastUpdateDateTime":            "an incident or alert is touched by every comment and correlation; its status and classification are compared",
}

// Change kinds.
const (
	Appeared    = "appeared"    // in NEW only
	Disappeared = "disappeared" // in OLD only
	Changed     = "changed"     // in both, with different properties
)

// Bundle identifies one side of the comparison.
type Bundle struct {
	Path string `json:"path"`
	// SHA256SUMS is the SHA-256 of the bundle's SHA256SUMS: it names the
	// exact sealed bundle compared.
	SHA256SUMS     string `json:"sha256sums"`
	CaseID         string `json:"case_id"`
	Tenant         string `json:"tenant,omitempty"`
	CollectionEnd  string `json:"collection_end"`
	RequestedUsers int    `json:"users"`
}

// Pointer locates a record in a bundle file: its line (1-based) and the
// SHA-256 of its bytes.
type Pointer struct {
	Line   int64  `json:"line"`
	SHA256 string `json:"sha256"`
}

// Property is one property that differs, by its JSON path (a.b.c); a side
// without the property has no value.
type Property struct {
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// Change is one object that appeared, disappeared or changed.
type Change struct {
	Kind       string     `json:"kind"`
	File       string     `json:"file"`
	ID         string     `json:"id"`
	Name       string     `json:"name,omitempty"`
	Properties []Property `json:"properties,omitempty"`
	Old        *Pointer   `json:"old,omitempty"`
	New        *Pointer   `json:"new,omitempty"`
	// Findings are the kinds of NEW's findings whose evidence is this
	// record: a change that matches a finding is an alert.
	Findings []string `json:"findings,omitempty"`
}

// Skipped is a file not compared, and why.
type Skipped struct {
	File string `json:"file"`
	Why  string `json:"why"`
}

// Result is the comparison, as diff.json holds it.
type Result struct {
	Format   string            `json:"format"`
	Old      Bundle            `json:"old"`
	New      Bundle            `json:"new"`
	Volatile map[string]string `json:"volatile"`
	Compared []string          `json:"compared"`
	Skipped  []Skipped         `json:"skipped"`
	Changes  []Change          `json:"changes"`
}

// Alerts are the changes that match a finding of the NEW bundle.
func (r *Result) Alerts() []Change {
	var out []Change
	for _, c := range r.Changes {
		if len(c.Findings) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// Counts returns how many objects appeared, disappeared and changed.
func (r *Result) Counts() (appeared, disappeared, changed int) {
	for _, c := range r.Changes {
		switch c.Kind {
		case Appeared:
			appeared++
		case Disappeared:
			disappeared++
		case Changed:
			changed++
		}
	}
	return
}

// NotVerifiedError is returned when a bundle does not verify: nothing of it
// is compared.
type NotVerifiedError struct {
	Path   string
	Result *manifest.Result // the problems found; nil when Err is set
	Err    error            // the archive could not be read as one
}

func (e *NotVerifiedError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	n := len(e.Result.Problems)
	first := ""
	if n > 0 {
		first = ": " + e.Result.Problems[0].String()
	}
	return fmt.Sprintf("%s does not verify (%d problems%s); run evidence verify on it", e.Path, n, first)
}

// Compare verifies the bundles at oldPath and newPath (each a directory or
// a .tar.zst) and compares their state.
func Compare(oldPath, newPath string) (*Result, error) {
	o, err := Load(oldPath)
	if err != nil {
		return nil, err
	}
	n, err := Load(newPath)
	if err != nil {
		return nil, err
	}
	return States(o, n), nil
}

// State is what a bundle holds that Compare reads: its manifest, its state
// files' records and its findings.
type State struct {
	Bundle   Bundle
	Manifest *manifest.Manifest
	files    map[string][]record // bundle path -> records, in file order
	findings map[string][]string // file + "\x00" + sha256 -> finding kinds
	sums     map[string]string   // SHA-256 of each file read, by bundle path
}

type record struct {
	line int64
	raw  []byte
	sum  string
}

// Load verifies the bundle at p (a directory or a .tar.zst) and reads its
// state. A bundle that does not verify is a *NotVerifiedError.
func Load(p string) (*State, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	s := newState(p)
	if fi.IsDir() {
		res, err := manifest.VerifyDir(p)
		if err != nil {
			return nil, err
		}
		if !res.OK() {
			return nil, &NotVerifiedError{Path: p, Result: res}
		}
		err = s.readDir(p)
		if err != nil {
			return nil, fmt.Errorf("diff: read %s: %w", p, err)
		}
	} else {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
		defer f.Close()
		if err := s.readArchive(f); err != nil {
			return nil, err
		}
	}
	return s.finish()
}

// Current reads the state of the bundle being built in dir, whose manifest
// so far is m: nothing is verified (the files are this process's own,
// not sealed yet). Export compares it with the previous bundle before
// sealing the comparison into it.
func Current(dir string, m *manifest.Manifest) (*State, error) {
	s := newState(dir)
	err := s.readDir(dir)
	if err != nil {
		return nil, fmt.Errorf("diff: read %s: %w", dir, err)
	}
	s.Manifest = m
	s.Bundle.CaseID, s.Bundle.CollectionEnd, s.Bundle.RequestedUsers = m.CaseID, m.CollectionEnd, len(m.Users)
	s.Bundle.Tenant = m.Tenant.ID
	return s, nil
}

// readDir reads the files the comparison needs from a bundle directory.
func (s *State) readDir(dir string) error {
	return filepath.WalkDir(dir, func(fp string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, fp)
		if err != nil {
			return err
		}
		if !s.wants(filepath.ToSlash(rel)) {
			return nil
		}
		f, err := os.Open(fp)
		if err != nil {
			return err
		}
		defer f.Close()
		return s.read(filepath.ToSlash(rel), f)
	})
}

// LoadReader is Load for a bundle archived as .tar.zst and streamed from r
// (a file, a blob being downloaded), named p in messages: it is verified
// and read in the same single pass.
func LoadReader(p string, r io.Reader) (*State, error) {
	s := newState(p)
	if err := s.readArchive(r); err != nil {
		return nil, err
	}
	return s.finish()
}

func newState(p string) *State {
	return &State{Bundle: Bundle{Path: p}, files: map[string][]record{}, findings: map[string][]string{}, sums: map[string]string{}}
}

// readArchive verifies the archive streamed from r while it keeps the files
// the comparison reads (they are small: state, not logs).
func (s *State) readArchive(r io.Reader) error {
	v := manifest.NewVerifier()
	err := archive.Walk(r, func(name string, fr io.Reader) error {
		if !s.wants(name) {
			return v.Add(name, fr)
		}
		b, err := io.ReadAll(fr)
		if err != nil {
			return err
		}
		if err := v.Add(name, bytes.NewReader(b)); err != nil {
			return err
		}
		return s.read(name, bytes.NewReader(b))
	})
	var unsafe *archive.UnsafeEntryError
	switch {
	case errors.As(err, &unsafe):
		v.Halt(unsafe.Name, unsafe.Why)
	case err != nil:
		return &NotVerifiedError{Path: s.Bundle.Path, Err: fmt.Errorf("%s: %w", s.Bundle.Path, err)}
	}
	if res := v.Result(); !res.OK() {
		return &NotVerifiedError{Path: s.Bundle.Path, Result: res}
	}
	return nil
}

func (s *State) finish() (*State, error) {
	p := s.Bundle.Path
	if s.Manifest == nil {
		return nil, fmt.Errorf("diff: %s has no manifest.json", p)
	}
	m := s.Manifest
	// The files were read after (a directory) or while (an archive) the
	// bundle was verified: each must still be the file the manifest seals.
	listed := map[string]string{}
	for _, f := range m.Files {
		listed[f.Path] = f.SHA256
	}
	for name, sum := range s.sums {
		if name == manifest.SumsName || name == "manifest.json" {
			continue
		}
		if listed[name] != sum {
			return nil, &NotVerifiedError{Path: p, Err: fmt.Errorf("%s: %s changed while it was read (SHA-256 %s, sealed %s)", p, name, sum, listed[name])}
		}
	}
	s.Bundle.CaseID, s.Bundle.CollectionEnd, s.Bundle.RequestedUsers = m.CaseID, m.CollectionEnd, len(m.Users)
	s.Bundle.Tenant = m.Tenant.ID
	return s, nil
}

// wants says whether a bundle file is read: the manifest, SHA256SUMS (for
// its hash), findings and the state sources' JSON Lines (not the records
// kept apart as out of scope).
func (s *State) wants(name string) bool {
	switch {
	case name == "manifest.json", name == manifest.SumsName:
		return true
	case strings.HasSuffix(name, ".out-of-scope.jsonl"):
		return false
	}
	for _, e := range Events {
		if strings.HasPrefix(name, e) {
			return false
		}
	}
	top, _, _ := strings.Cut(name, "/")
	if !isState(top) {
		return false
	}
	return strings.HasSuffix(name, ".jsonl") || path.Base(name) == "findings.json"
}

func isState(source string) bool {
	for _, s := range StateSources {
		if s == source {
			return true
		}
	}
	return false
}

func (s *State) read(name string, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	s.sums[name] = hex.EncodeToString(sum[:])
	r = bytes.NewReader(b)
	switch {
	case name == manifest.SumsName:
		s.Bundle.SHA256SUMS = s.sums[name]
		return nil
	case name == "manifest.json":
		var m manifest.Manifest
		if err := json.NewDecoder(r).Decode(&m); err != nil {
			return fmt.Errorf("manifest.json: %w", err)
		}
		s.Manifest = &m
		return nil
	case path.Base(name) == "findings.json":
		var f struct {
			Findings []struct {
				Kind     string `json:"kind"`
				Evidence []struct {
					File   string `json:"file"`
					SHA256 string `json:"sha256"`
				} `json:"evidence"`
			} `json:"findings"`
		}
		if err := json.NewDecoder(r).Decode(&f); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, fd := range f.Findings {
			for _, e := range fd.Evidence {
				k := e.File + "\x00" + e.SHA256
				s.findings[k] = appendOnce(s.findings[k], fd.Kind)
			}
		}
		return nil
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var recs []record
	for line := int64(1); ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			raw := bytes.TrimSuffix(b, []byte("\n"))
			sum := sha256.Sum256(raw)
			recs = append(recs, record{line: line, raw: raw, sum: hex.EncodeToString(sum[:])})
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	s.files[name] = recs
	return nil
}

func appendOnce(l []string, s string) []string {
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

// States compares two loaded bundles.
func States(o, n *State) *Result {
	r := &Result{Format: Format, Old: o.Bundle, New: n.Bundle, Volatile: Volatile, Compared: []string{}, Skipped: []Skipped{}, Changes: []Change{}}
	names := map[string]bool{}
	for f := range o.files {
		names[f] = true
	}
	for f := range n.files {
		names[f] = true
	}
	sorted := make([]string, 0, len(names))
	for f := range names {
		sorted = append(sorted, f)
	}
	sort.Strings(sorted)
	for _, f := range sorted {
		if why := skip(f, o, n); why != "" {
			r.Skipped = append(r.Skipped, Skipped{File: f, Why: why})
			continue
		}
		r.Compared = append(r.Compared, f)
		r.Changes = append(r.Changes, compareFile(f, o.files[f], n.files[f], n.findings, windowed(f))...)
	}
	return r
}

// skip says why file f is not compared: missing on one side, or a part of
// it not collected there.
func skip(f string, o, n *State) string {
	_, inOld := o.files[f]
	_, inNew := n.files[f]
	switch {
	case !inOld && !inNew:
		return "in neither bundle"
	case !inOld:
		if why := notCollected(f, o.Manifest); why != "" {
			return "OLD: " + why
		}
		return "not in the OLD bundle (source not asked for, or the object did not exist)"
	case !inNew:
		if why := notCollected(f, n.Manifest); why != "" {
			return "NEW: " + why
		}
		return "not in the NEW bundle (source not asked for, or the object no longer exists)"
	}
	if why := notCollected(f, o.Manifest); why != "" {
		return "OLD: " + why
	}
	if why := notCollected(f, n.Manifest); why != "" {
		return "NEW: " + why
	}
	return ""
}

// notCollected says why file f of m is not complete: a window of its part
// (the windows whose query starts with the file's base name) that is not
// collected, or its source not collected at all.
func notCollected(f string, m *manifest.Manifest) string {
	top, _, _ := strings.Cut(f, "/")
	part := strings.TrimSuffix(path.Base(f), ".jsonl")
	scope := ""
	if strings.HasPrefix(f, "snapshot/users/") {
		scope = strings.Split(f, "/")[2]
	}
	for _, s := range m.Sources {
		if s.Name != top {
			continue
		}
		for _, w := range s.Windows {
			if !strings.HasPrefix(w.Query, part+":") || (scope != "" && w.Scope != scope) {
				continue
			}
			if w.Status != manifest.StatusCollected {
				why := w.Reason
				if why == "" {
					why = w.Status
				}
				return fmt.Sprintf("%s not collected: %s", part, why)
			}
		}
		return ""
	}
	return "source " + top + " not in the bundle"
}

type keyed struct {
	key string
	rec record
	obj map[string]any
}

// compareFile matches the records of one file by id (the n-th record with
// the same id matches the n-th; a record without an id is matched by its
// position among those).
func compareFile(f string, old, cur []record, findings map[string][]string, noDisappear bool) []Change {
	om, okeys := index(old)
	nm, nkeys := index(cur)
	var out []Change
	for _, k := range nkeys {
		nr := nm[k]
		or, ok := om[k]
		if !ok {
			out = append(out, Change{Kind: Appeared, File: f, ID: idOf(nr), Name: nameOf(nr), New: ptr(nr.rec),
				Findings: findings[f+"\x00"+nr.rec.sum]})
			continue
		}
		if or.rec.sum == nr.rec.sum {
			continue
		}
		props := compareValues("", or.obj, nr.obj)
		if len(props) == 0 {
			continue
		}
		out = append(out, Change{Kind: Changed, File: f, ID: idOf(nr), Name: nameOf(nr), Properties: props,
			Old: ptr(or.rec), New: ptr(nr.rec), Findings: findings[f+"\x00"+nr.rec.sum]})
	}
	for _, k := range okeys {
		if _, ok := nm[k]; !ok && !noDisappear {
			or := om[k]
			out = append(out, Change{Kind: Disappeared, File: f, ID: idOf(or), Name: nameOf(or), Old: ptr(or.rec)})
		}
	}
	return out
}

func ptr(r record) *Pointer { return &Pointer{Line: r.line, SHA256: r.sum} }

func index(recs []record) (map[string]keyed, []string) {
	m := make(map[string]keyed, len(recs))
	seen := map[string]int{}
	keys := make([]string, 0, len(recs))
	for _, r := range recs {
		var obj map[string]any
		d := json.NewDecoder(bytes.NewReader(r.raw))
		d.UseNumber()
		if err := d.Decode(&obj); err != nil {
			obj = map[string]any{"": string(r.raw)} // not an object: compared as text
		}
		id, _ := obj["id"].(string)
		seen[id]++
		k := fmt.Sprintf("%s#%d", id, seen[id])
		m[k] = keyed{key: k, rec: r, obj: obj}
		keys = append(keys, k)
	}
	return m, keys
}

func idOf(k keyed) string {
	id, _ := k.obj["id"].(string)
	return id
}

func nameOf(k keyed) string {
	for _, p := range []string{"displayName", "userPrincipalName", "name", "title"} {
		if s, ok := k.obj[p].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// compareValues lists the properties that differ between a and b (objects
// are recursed into; arrays and scalars are compared whole), skipping
// Volatile names.
func compareValues(at string, a, b map[string]any) []Property {
	names := map[string]bool{}
	for k := range a {
		names[k] = true
	}
	for k := range b {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		if _, v := Volatile[k]; !v {
			sorted = append(sorted, k)
		}
	}
	sort.Strings(sorted)
	var out []Property
	for _, k := range sorted {
		p := k
		if at != "" {
			p = at + "." + k
		}
		av, inA := a[k]
		bv, inB := b[k]
		am, aObj := av.(map[string]any)
		bm, bObj := bv.(map[string]any)
		switch {
		case inA && inB && aObj && bObj:
			out = append(out, compareValues(p, am, bm)...)
		case inA && inB && equal(av, bv):
		default:
			pr := Property{Path: p}
			if inA {
				pr.Old = raw(av)
			}
			if inB {
				pr.New = raw(bv)
			}
			out = append(out, pr)
		}
	}
	return out
}

func equal(a, b any) bool { return bytes.Equal(raw(a), raw(b)) }

// raw is v as canonical JSON (map keys sorted by encoding/json), without
// HTML escaping, so values print as Graph wrote them.
func raw(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return json.RawMessage(`null`)
	}
	return json.RawMessage(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// WriteText writes the comparison for a person: the two bundles, the
// counts, one line per change (alerts first, marked ALERT), then the files
// not compared and why.
func (r *Result) WriteText(w io.Writer) {
	ap, dis, ch := r.Counts()
	fmt.Fprintf(w, "OLD %s (collected %s)\nNEW %s (collected %s)\n", r.Old.Path, r.Old.CollectionEnd, r.New.Path, r.New.CollectionEnd)
	fmt.Fprintf(w, "%d files compared: %d appeared, %d disappeared, %d changed; %d files not compared\n",
		len(r.Compared), ap, dis, ch, len(r.Skipped))
	line := func(c Change) {
		mark := "      "
		if len(c.Findings) > 0 {
			mark = "ALERT "
		}
		name := c.ID
		if c.Name != "" {
			name = fmt.Sprintf("%q (%s)", c.Name, c.ID)
		}
		fmt.Fprintf(w, "%s%-11s %s %s", mark, c.Kind, c.File, name)
		if len(c.Properties) > 0 {
			paths := make([]string, len(c.Properties))
			for i, p := range c.Properties {
				paths[i] = p.Path
			}
			fmt.Fprintf(w, ": %s", strings.Join(paths, ", "))
		}
		if len(c.Findings) > 0 {
			fmt.Fprintf(w, " [finding: %s]", strings.Join(c.Findings, ", "))
		}
		fmt.Fprintln(w)
	}
	for _, c := range r.Alerts() {
		line(c)
	}
	for _, c := range r.Changes {
		if len(c.Findings) == 0 {
			line(c)
		}
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "not compared %s: %s\n", s.File, s.Why)
	}
}
