package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
)

// Problem kinds, from the most to the least common cause.
const (
	// ProblemChanged: the file's SHA-256 differs from SHA256SUMS.
	ProblemChanged = "changed"
	// ProblemMissing: the file is listed (in SHA256SUMS or manifest.json) but absent.
	ProblemMissing = "missing"
	// ProblemAdded: the file is present but listed nowhere.
	ProblemAdded = "added"
	// ProblemUnsafe: the entry is not a plain file or directory with a safe
	// name (symlink, device, "..", absolute path, ...); it was not read.
	ProblemUnsafe = "unsafe"
	// ProblemInconsistent: SHA256SUMS and manifest.json, or manifest.json and
	// the files, disagree; or one of them is malformed.
	ProblemInconsistent = "inconsistent"
	// ProblemUnreadable: the entry could not be read.
	ProblemUnreadable = "unreadable"
)

// Names of the files that seal a bundle beside SHA256SUMS without being
// listed in it (see the unsealed set of the Verifier).
const (
	// SigName is the OpenSSH signature (SSHSIG, armored) of SHA256SUMS.
	SigName = SumsName + ".sig"
	// TimestampName is the RFC 3161 time-stamp response for SHA256SUMS.
	TimestampName = SumsName + ".tsr"
	// CustodyLogName is the hash-chained custody log inside a bundle
	// directory. It grows after sealing, so it is not in SHA256SUMS.
	CustodyLogName = "custody.log.jsonl"
	// CustodyName is custody.json, the sealed statement of who collected
	// what, where, when and how; it is listed in SHA256SUMS.
	CustodyName = "custody.json"
)

// Problem kinds of the seal (beside those of the files), found by package
// manifest/seal.
const (
	// ProblemSignature: SHA256SUMS.sig does not verify, is by a key that is
	// not trusted, or is required and absent.
	ProblemSignature = "signature"
	// ProblemTimestamp: SHA256SUMS.tsr does not stamp this SHA256SUMS, is
	// not validly signed, or its authority is not trusted when roots were given.
	ProblemTimestamp = "timestamp"
	// ProblemUntrusted: a valid signature (of SHA256SUMS or of a custody
	// entry) made by a key outside the trusted keys given. A bundle whose
	// only problems are of this kind is intact but was sealed by someone
	// the verifier does not trust (see Result.OnlyUntrusted).
	ProblemUntrusted = "untrusted"
)

// ProblemCustody: the custody log is broken (an entry edited, removed,
// reordered or badly signed, or the log does not bind to the seal).
const ProblemCustody = "custody"

// maxMetaSize bounds the bytes of SHA256SUMS and manifest.json kept in memory.
const maxMetaSize = 64 << 20

// unsealed names the files allowed beside SHA256SUMS without being listed in
// it: the SSH signature and the time-stamp of SHA256SUMS, and the chain of
// custody log, which grows after sealing. CheckSeal verifies each of them.
// Nothing else escapes SHA256SUMS: a SHA256SUMS.minisig, which this tool
// never writes and never checks, is an added file like any other.
var unsealed = map[string]bool{
	SumsName:            true,
	SumsName + ".sig":   true,
	SumsName + ".tsr":   true,
	"custody.log.jsonl": true,
}

// Problem is one finding of a verification, about one path of the bundle.
type Problem struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
}

// String renders the problem on one line: "changed: data/x.jsonl: ...".
func (p Problem) String() string {
	if p.Detail == "" {
		return fmt.Sprintf("%s: %s", p.Kind, p.Path)
	}
	return fmt.Sprintf("%s: %s: %s", p.Kind, p.Path, p.Detail)
}

// Result is the outcome of verifying one bundle.
type Result struct {
	// Files and Bytes count the files read and their bytes.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Problems is sorted by Path, then Kind; there is at most one Problem per
	// (Path, Kind), several findings being joined in its Detail with "; ".
	Problems []Problem `json:"problems"`
	// Manifest is manifest.json as found in the bundle, when present and
	// parseable. It is trustworthy only if OK reports true.
	Manifest *Manifest `json:"-"`
	// Seal holds the bytes of SHA256SUMS and of the files that seal it
	// (signature, time-stamp, custody.json and the custody log) as found,
	// for CheckSeal; absent names were not found.
	Seal map[string][]byte `json:"-"`
}

// OK reports whether the bundle verified without any problem.
func (r *Result) OK() bool { return len(r.Problems) == 0 }

// OnlyUntrusted reports whether the bundle has problems and every one is of
// kind ProblemUntrusted: every hash, the manifest and every signature
// verify, but a signature is by a key outside the trusted keys.
func (r *Result) OnlyUntrusted() bool {
	for _, p := range r.Problems {
		if p.Kind != ProblemUntrusted {
			return false
		}
	}
	return len(r.Problems) > 0
}

// AddProblem records a finding about path, joined with any finding of the
// same path and kind, keeping Problems sorted. Package manifest/seal adds
// what it finds about the signature, the time-stamp and the custody log.
func (r *Result) AddProblem(path, kind, detail string) {
	ps := problemSet{}
	for _, p := range r.Problems {
		ps.add(p.Path, p.Kind, p.Detail)
	}
	ps.add(path, kind, detail)
	r.Problems = ps.sorted()
}

type seenFile struct {
	sha256 string
	size   int64
	lines  int64
}

// Verifier checks a bundle fed to it file by file, in any order, each file
// read once as a stream: only the hash, size and line count of each file are
// kept, plus the bytes of SHA256SUMS and manifest.json (each at most 64 MiB),
// so memory does not grow with file sizes. It serves directories (VerifyDir)
// and archives alike. A Verifier is not safe for concurrent use.
//
// The rules applied by Result:
//
//   - Without SHA256SUMS (absent, larger than 64 MiB, or malformed) nothing can
//     be verified: the result holds one problem on SHA256SUMS ("missing" or
//     "inconsistent") and no per-file findings, beside unsafe or unreadable
//     entries.
//   - Each path in SHA256SUMS that is absent is "missing"; each whose SHA-256
//     differs is "changed".
//   - Each file present but not in SHA256SUMS is "added", except
//     SHA256SUMS.sig, SHA256SUMS.tsr and custody.log.jsonl at the root,
//     which are not sealed by SHA256SUMS (CheckSeal verifies them).
//   - manifest.json must be present, listed in SHA256SUMS, parse, and carry
//     Format; otherwise "missing" or "inconsistent".
//   - manifest.json and SHA256SUMS must agree: every manifest file is in
//     SHA256SUMS with the same SHA-256, its real size equals Size and, when
//     Records is set, its real count of '\n' bytes equals Records; every path
//     of SHA256SUMS but manifest.json is in the manifest. Each disagreement is
//     "inconsistent" on the file concerned. A file already "changed" or
//     "missing" is not compared with the manifest as well.
//   - Entries refused with Refuse or Unreadable (and the files under a refused
//     directory) are reported as such and not also as missing or added.
type Verifier struct {
	files    map[string]seenFile
	refused  map[string]bool
	recorded []Problem
	halted   bool

	sums, manifest             []byte
	sealFiles                  map[string][]byte
	sumsTooBig, manifestTooBig bool
}

// NewVerifier returns an empty Verifier.
func NewVerifier() *Verifier {
	return &Verifier{files: make(map[string]seenFile), refused: make(map[string]bool)}
}

// Add reads r to its end once, hashing and counting it as the bundle file at
// path ('/'-separated, relative to the bundle root). A path that is not in
// the one allowed spelling (see WriteSums), or that was already added, is
// recorded as an unsafe problem and r is not read. The error is non-nil only
// when reading r fails; the file is then not recorded, and the caller decides
// whether to go on (Unreadable) or give up.
func (v *Verifier) Add(path string, r io.Reader) error {
	return v.add(path, func() (hashed, error) { return hashStream(path, r, nil) })
}

// Create starts the bundle file at path ('/'-separated, relative to the
// bundle root) for a caller that already holds its bytes in hand (an
// archive being written or decompressed): they are written to the returned
// FileWriter, which hashes and counts them without copying them, and Close
// records the file. Path rules are Add's: a path that is refused is recorded
// as unsafe at once and its FileWriter discards what it is given. A file
// whose FileWriter is never closed is not recorded, as when Add's reading
// fails. One FileWriter at a time: the Verifier is not safe for concurrent
// use, and the FileWriter may be written on another goroutine than the one
// that created it only if nothing else uses the Verifier meanwhile.
func (v *Verifier) Create(path string) (*FileWriter, error) {
	if err := v.accept(path); err != nil {
		return nil, err
	}
	if v.refused[path] {
		return &FileWriter{}, nil
	}
	keep := keepFor(path)
	var dst io.Writer
	if keep != nil {
		dst = keep
	}
	return &FileWriter{v: v, path: path, hw: NewHashWriter(dst), keep: keep}, nil
}

// FileWriter hashes and counts the bytes of one bundle file (see
// Verifier.Create). Its Write never fails.
type FileWriter struct {
	v    *Verifier // nil: the path was refused, bytes are discarded
	path string
	hw   *HashWriter
	keep *capBuffer
}

// Write hashes and counts p; it does not keep p.
func (w *FileWriter) Write(p []byte) (int, error) {
	if w.hw != nil {
		w.hw.Write(p) // a capBuffer or io.Discard: never fails
	}
	return len(p), nil
}

// Refused reports whether the path was refused (recorded as unsafe): the
// bytes written are then ignored and need not be fed.
func (w *FileWriter) Refused() bool { return w.v == nil }

// Close records the file with the bytes written to it. It may be called
// once; a refused FileWriter records nothing more.
func (w *FileWriter) Close() error {
	if w.v == nil {
		return nil
	}
	v := w.v
	w.v = nil
	v.keepFile(w.path, hashed{seen: seenFile{sha256: w.hw.Sum(), size: w.hw.Size(), lines: w.hw.Lines()}, keep: w.keep})
	return nil
}

// hashed is what one read of a bundle file gives: its SHA-256, size and line
// count, and its bytes when it is one the Verifier keeps (SHA256SUMS,
// manifest.json and the seal files).
type hashed struct {
	seen seenFile
	keep *capBuffer
}

// hashStream reads r to its end once, hashing and counting it as the bundle
// file at path, through buf (a fresh buffer when buf is nil).
func hashStream(path string, r io.Reader, buf []byte) (hashed, error) {
	keep := keepFor(path)
	var dst io.Writer
	if keep != nil {
		dst = keep
	}
	hw := NewHashWriter(dst)
	if buf == nil {
		buf = make([]byte, readBufSize)
	}
	for {
		n, err := r.Read(buf)
		if n > 0 {
			hw.Write(buf[:n]) // a capBuffer or io.Discard: never fails
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return hashed{}, fmt.Errorf("%s: read: %w", path, err)
		}
	}
	return hashed{seen: seenFile{sha256: hw.Sum(), size: hw.Size(), lines: hw.Lines()}, keep: keep}, nil
}

// keepFor is the buffer that keeps the bytes of path when the Verifier keeps
// them (SHA256SUMS, manifest.json and the seal files), else nil.
func keepFor(path string) *capBuffer {
	if path == SumsName || path == ManifestName || sealFile[path] {
		return &capBuffer{max: maxMetaSize}
	}
	return nil
}

// readBufSize is the size of the buffer a file is read through: large
// enough that system calls cost little against hashing, small enough to stay
// in the CPU's cache.
const readBufSize = 256 << 10

// add is Add with the reading left to read, which is called only when path
// is accepted; its error is returned as is and nothing is recorded then.
func (v *Verifier) add(path string, read func() (hashed, error)) error {
	if err := v.accept(path); err != nil || v.refused[path] {
		return err
	}
	h, err := read()
	if err != nil {
		return err
	}
	v.keepFile(path, h)
	return nil
}

// accept checks path before its file is read: the error is non-nil when the
// verification was halted; a path refused is recorded as unsafe (and is
// then in v.refused).
func (v *Verifier) accept(path string) error {
	if v.halted {
		return fmt.Errorf("add %q: verification was halted", path)
	}
	if err := checkPath(path); err != nil {
		v.Refuse(path, "unsafe name: "+err.Error())
		return nil
	}
	if _, dup := v.files[path]; dup || v.refused[path] {
		v.Refuse(path, "entry appears twice")
	}
	return nil
}

// keepFile keeps what one read of the file at path gave.
func (v *Verifier) keepFile(path string, h hashed) {
	keep := h.keep
	v.files[path] = h.seen
	switch path {
	case SumsName:
		v.sums, v.sumsTooBig = keep.buf.Bytes(), keep.over
	case ManifestName:
		v.manifest, v.manifestTooBig = keep.buf.Bytes(), keep.over
	}
	if sealFile[path] && !keep.over {
		if v.sealFiles == nil {
			v.sealFiles = map[string][]byte{}
		}
		v.sealFiles[path] = keep.buf.Bytes()
	}
}

// Refuse records that the entry at path was not read because it is unsafe
// (a symlink, a device, an unsafe name, ...); why says what it is.
func (v *Verifier) Refuse(path, why string) {
	v.record(path, ProblemUnsafe, why)
}

// Unreadable records that the entry at path could not be read; why says why.
func (v *Verifier) Unreadable(path, why string) {
	v.record(path, ProblemUnreadable, why)
}

// Halt records an unsafe entry after which nothing more of the bundle is
// read (an archive whose walk stops at its first unsafe entry). Result then
// reports the problems recorded so far and the files already read whose
// SHA-256 differs from SHA256SUMS, but no missing, added or inconsistent
// findings, which a partial read cannot support.
func (v *Verifier) Halt(path, why string) {
	v.record(path, ProblemUnsafe, why+"; verification stopped at this entry, later entries were not read")
	v.halted = true
}

func (v *Verifier) record(path, kind, detail string) {
	v.refused[path] = true
	v.recorded = append(v.recorded, Problem{Path: path, Kind: kind, Detail: detail})
}

// Result applies the rules documented on Verifier to what was added and
// returns the outcome. It may be called more than once.
func (v *Verifier) Result() *Result {
	res := &Result{Files: len(v.files), Seal: v.sealFiles}
	for _, f := range v.files {
		res.Bytes += f.size
	}
	ps := problemSet{}
	for _, p := range v.recorded {
		ps.add(p.Path, p.Kind, p.Detail)
	}
	defer func() { res.Problems = ps.sorted() }()

	// SHA256SUMS: without it nothing can be trusted.
	_, haveSums := v.files[SumsName]
	switch {
	case !haveSums && v.halted:
		return res
	case !haveSums:
		if !v.blocked(SumsName) {
			ps.add(SumsName, ProblemMissing, fmt.Sprintf(
				"absent: no file of the bundle can be verified (files present: %d, none checked)", len(v.files)))
		}
		return res
	case v.sumsTooBig:
		ps.add(SumsName, ProblemInconsistent, "larger than 64 MiB: not read, no file of the bundle can be verified")
		return res
	}
	sums, err := ParseSums(bytes.NewReader(v.sums))
	if err != nil {
		ps.add(SumsName, ProblemInconsistent, "malformed, no file of the bundle can be verified: "+err.Error())
		return res
	}
	listed := make(map[string]string, len(sums))
	for _, s := range sums {
		listed[s.Path] = s.SHA256
	}

	// Every listed file: present and unchanged.
	for _, s := range sums {
		if v.blocked(s.Path) {
			continue
		}
		f, ok := v.files[s.Path]
		switch {
		case !ok && !v.halted:
			ps.add(s.Path, ProblemMissing, "listed in SHA256SUMS, absent")
		case ok && f.sha256 != s.SHA256:
			ps.add(s.Path, ProblemChanged, fmt.Sprintf("sha256 %s in SHA256SUMS, file has %s", short(s.SHA256), short(f.sha256)))
		}
	}
	if v.halted {
		return res
	}

	// Every present file: listed.
	for p := range v.files {
		if _, ok := listed[p]; !ok && !unsealed[p] && p != ManifestName {
			ps.add(p, ProblemAdded, addedDetail(p))
		}
	}

	// manifest.json: present, sealed, parseable, of our format.
	_, haveManifest := v.files[ManifestName]
	if _, ok := listed[ManifestName]; !ok {
		switch {
		case haveManifest:
			ps.add(ManifestName, ProblemInconsistent, "not listed in SHA256SUMS")
		case !v.blocked(ManifestName):
			ps.add(ManifestName, ProblemMissing, "the bundle has no manifest.json")
		}
	}
	if !haveManifest {
		return res
	}
	if v.manifestTooBig {
		ps.add(ManifestName, ProblemInconsistent, "larger than 64 MiB: not parsed")
		return res
	}
	var m Manifest
	if err := json.Unmarshal(v.manifest, &m); err != nil {
		ps.add(ManifestName, ProblemInconsistent, "does not parse: "+err.Error())
		return res
	}
	res.Manifest = &m
	if m.Format != Format {
		ps.add(ManifestName, ProblemInconsistent, fmt.Sprintf("format %q, want %q", m.Format, Format))
		return res
	}
	v.checkManifest(&m, listed, ps)
	v.checkSources(&m, listed, ps)
	return res
}

// addedDetail says why a file present but not listed is a problem. A
// signature file of another tool beside SHA256SUMS gets its own words: it
// would look like a seal and is none.
func addedDetail(p string) string {
	if strings.HasPrefix(p, SumsName+".") && !strings.Contains(p, "/") {
		return "present, not listed in SHA256SUMS: not a seal this tool writes or checks (its signature is SHA256SUMS.sig)"
	}
	return "present, not listed in SHA256SUMS"
}

// blocked reports whether path, or a directory above it, was refused or
// unreadable: its absence from the files read is then no finding of its own.
func (v *Verifier) blocked(path string) bool {
	for {
		if v.refused[path] {
			return true
		}
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			return false
		}
		path = path[:i]
	}
}

// checkManifest compares manifest.json with SHA256SUMS and with the files.
func (v *Verifier) checkManifest(m *Manifest, listed map[string]string, ps problemSet) {
	inManifest := make(map[string]bool, len(m.Files))
	for i, f := range m.Files {
		if err := checkPath(f.Path); err != nil {
			ps.add(ManifestName, ProblemInconsistent, fmt.Sprintf("files[%d]: path %q: %v", i, f.Path, err))
			continue
		}
		if inManifest[f.Path] {
			ps.add(f.Path, ProblemInconsistent, "listed twice in manifest.json")
			continue
		}
		inManifest[f.Path] = true
		if f.Path == ManifestName || f.Path == SumsName {
			ps.add(f.Path, ProblemInconsistent, "listed in manifest.json, which must not list it")
			continue
		}
		want, isListed := listed[f.Path]
		actual, present := v.files[f.Path]
		switch {
		case !isListed:
			ps.add(f.Path, ProblemInconsistent, "in manifest.json, not in SHA256SUMS")
			if !present && !v.blocked(f.Path) {
				ps.add(f.Path, ProblemMissing, "listed in manifest.json, absent")
			}
		case f.SHA256 != want:
			ps.add(f.Path, ProblemInconsistent, fmt.Sprintf("sha256 %s in manifest.json, %s in SHA256SUMS", short(f.SHA256), short(want)))
		}
		if !present || actual.sha256 != want {
			// Absent or changed: already reported; comparing the
			// manifest with bytes that are not the sealed ones adds noise.
			continue
		}
		if actual.size != f.Size {
			ps.add(f.Path, ProblemInconsistent, fmt.Sprintf("size %d in manifest.json, file has %d bytes", f.Size, actual.size))
		}
		if f.Records != nil && actual.lines != *f.Records {
			ps.add(f.Path, ProblemInconsistent, fmt.Sprintf("records %d in manifest.json, file has %d lines", *f.Records, actual.lines))
		}
	}
	for p := range listed {
		if p != ManifestName && !inManifest[p] {
			ps.add(p, ProblemInconsistent, "in SHA256SUMS, not in manifest.json")
		}
	}
}

// describeType names a non-regular file type for a problem detail.
func describeType(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "symbolic link (not followed)"
	case t&fs.ModeDevice != 0 && t&fs.ModeCharDevice != 0:
		return "character device"
	case t&fs.ModeDevice != 0:
		return "block device"
	case t&fs.ModeNamedPipe != 0:
		return "named pipe (fifo)"
	case t&fs.ModeSocket != 0:
		return "socket"
	default:
		return "not a regular file (" + t.String() + ")"
	}
}

// short abbreviates a SHA-256 for a problem detail.
func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "..."
	}
	return h
}

// problemSet gathers findings, one per (path, kind), details joined.
type problemSet map[[2]string][]string

func (ps problemSet) add(path, kind, detail string) {
	k := [2]string{path, kind}
	if !slices.Contains(ps[k], detail) {
		ps[k] = append(ps[k], detail)
	}
}

func (ps problemSet) sorted() []Problem {
	out := make([]Problem, 0, len(ps))
	for k, d := range ps {
		out = append(out, Problem{Path: k[0], Kind: k[1], Detail: strings.Join(d, "; ")})
	}
	slices.SortFunc(out, func(a, b Problem) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	return out
}

// capBuffer keeps up to max bytes written to it and notes whether more came.
type capBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if !c.over {
		if c.buf.Len()+len(p) > c.max {
			c.over = true
			c.buf = bytes.Buffer{}
		} else {
			c.buf.Write(p)
		}
	}
	return len(p), nil
}
