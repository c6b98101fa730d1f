package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/durable"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// Sealed is a sealed bundle directory, ready to deliver.
type Sealed struct {
	Dir      string // the sealed directory
	Name     string // the bundle's name (the directory's and archive's base name)
	Manifest *manifest.Manifest
	Started  time.Time   // collection start: the archive entries' time
	Signer   seal.Signer // what signed it (nil: unsigned), trusted when reading back
	// Custody says whether the bundle starts a custody log that an archive
	// continues beside itself (NAME.custody.jsonl): true for every bundle
	// Build writes; pack keeps the directory's log as it is.
	Custody bool
	// Content is the SHA-256 of its SHA256SUMS (DirSHA256): the same for
	// the directory, its archive and the blob.
	Content string

	// Archive and ArchiveSHA256 are set by Tar for the outputs after it.
	Archive       string
	ArchiveSHA256 string
}

// Output forms.
const (
	FormTar  = "tar"
	FormDir  = "dir"
	FormBlob = "blob"
)

// Delivery is what one output wrote and read back.
type Delivery struct {
	Form     string // FormTar, FormDir or FormBlob
	Location string // absolute path or blob URL
	// SHA256 is the archive's (tar, blob) or, for a directory, the SHA-256
	// of its SHA256SUMS, which names every file's SHA-256 (DirSHA256).
	SHA256 string
	// Content is the SHA-256 of the bundle's SHA256SUMS, as read back.
	Content string
	// Kept is false for an intermediate output (the local archive a blob
	// upload removes).
	Kept bool
	// Verified is the verification of what was read back (tar, dir).
	Verified *manifest.Result
	Seal     *seal.Report
	// Receipt is the blob upload's, with its read-back immutability.
	Receipt     *blob.Receipt
	ReceiptPath string
	// NotImmutable: the blob's protection could not be read back and was
	// not accepted.
	NotImmutable bool
}

// Deliverer writes a sealed bundle where it is kept, reads it back, checks
// it, and says where it is and its SHA-256. Find looks for the bundle
// name where Deliver would have put it (an earlier, interrupted run), and
// reads it back: nil when it is not there.
type Deliverer interface {
	Deliver(ctx context.Context, b *Sealed, p *Plan) (*Delivery, error)
	Find(ctx context.Context, name string, p *Plan) (*Delivery, error)
}

// Find asks every output of the plan for the bundle name; the result has
// one Delivery per output, nil where it is not found.
func Find(ctx context.Context, p Plan, name string) ([]*Delivery, error) {
	out := make([]*Delivery, len(p.Outputs))
	for i, o := range p.Outputs {
		d, err := o.Find(ctx, name, &p)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// contentOf is the SHA-256 of the SHA256SUMS a verification read.
func contentOf(res *manifest.Result) string {
	if b, ok := res.Seal[manifest.SumsName]; ok {
		return sha256Hex(b)
	}
	return ""
}

// Dir keeps the sealed directory where Build committed it, and verifies it
// in place (every hash, the signature and the custody log).
type Dir struct{}

// Deliver implements Deliverer.
func (Dir) Deliver(_ context.Context, b *Sealed, _ *Plan) (*Delivery, error) {
	res, err := manifest.VerifyDir(b.Dir)
	if err != nil {
		return nil, verifyErr(err)
	}
	rep, err := CheckOwnSeal(res, b.Dir, b.Signer)
	if err != nil {
		return nil, verifyErr(err)
	}
	if !res.OK() {
		return nil, verifyErr(fmt.Errorf("the bundle just written does not verify: %s", DescribeProblems(res)))
	}
	sum, err := DirSHA256(b.Dir)
	if err != nil {
		return nil, verifyErr(err)
	}
	abs, err := filepath.Abs(b.Dir)
	if err != nil {
		return nil, failErr(err)
	}
	return &Delivery{Form: FormDir, Location: abs, SHA256: sum, Content: sum, Kept: true, Verified: res, Seal: rep}, nil
}

// Find implements Deliverer: the directory NAME in Plan.Out.
func (d Dir) Find(ctx context.Context, name string, p *Plan) (*Delivery, error) {
	dir := filepath.Join(p.Out, name)
	if _, err := os.Stat(filepath.Join(dir, manifest.SumsName)); os.IsNotExist(err) {
		return nil, nil
	}
	return d.Deliver(ctx, &Sealed{Dir: dir, Name: name}, p)
}

// DirSHA256 is the content hash of a bundle directory: the SHA-256 of its
// SHA256SUMS, which lists the SHA-256 of every sealed file.
func DirSHA256(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifest.SumsName))
	if err != nil {
		return "", err
	}
	return sha256Hex(b), nil
}

// Tar packs the sealed directory into the deterministic NAME.tar.zst
// beside it (or Path), continues the custody log beside the archive with
// an "archived" entry, and verifies the archive read back. The directory is
// removed once the archive verifies, unless KeepDir.
type Tar struct {
	Path    string // the archive; "" is NAME.tar.zst beside the directory
	KeepDir bool
	// Resume finishes a delivery a killed run began: an archive already
	// at Path with the bytes this directory packs to is kept (archives are
	// deterministic), and its custody log beside is written again.
	Resume bool
	// Intermediate marks an archive that a later output (Blob) removes.
	Intermediate bool
	// CheckDir verifies the directory (every hash, as verify does) with
	// the read that archives it (pack): through the read-back of the
	// archive as it is written, or while each file is archived when the
	// archive cannot be followed. A directory that does not verify leaves
	// no archive, and the error says why.
	CheckDir bool
}

// Deliver implements Deliverer.
func (t Tar) Deliver(ctx context.Context, b *Sealed, _ *Plan) (*Delivery, error) {
	path := t.Path
	if path == "" {
		path = filepath.Join(filepath.Dir(b.Dir), b.Name+manifest.ArchiveSuffix)
	}
	var v *manifest.Verifier
	if t.CheckDir {
		v = manifest.NewVerifier()
	}
	sum, err := "", error(nil)
	var rb *readBack
	if t.Resume {
		sum, err = samePacked(b.Dir, b.Name, path, b.Started)
	}
	if err == nil && sum == "" {
		sum, rb, err = packArchive(ctx, b.Dir, b.Name, path, b.Started, v)
		if t.CheckDir && err != nil {
			return nil, refusePack(b.Dir, err)
		}
	}
	if err != nil {
		return nil, failErr(fmt.Errorf("bundle sealed in %s (kept), but archiving failed: %w; once that is solved (space freed), `evidence pack %s` archives it", b.Dir, err, b.Dir))
	}
	KillPoint(StepArchived)
	if b.Custody {
		if err := custodyArchived(b.Dir, path, sum, b.Manifest, b.Signer); err != nil {
			return nil, failErr(fmt.Errorf("bundle archived as %s, but its custody log could not be written: %w", path, err))
		}
	} else if inner, err := os.ReadFile(filepath.Join(b.Dir, manifest.CustodyLogName)); err == nil {
		// pack: no examiner or key to record the archiving with; the log
		// beside the archive continues the one inside, as verify expects.
		if err := seal.ContinueCustody(manifest.CustodyPathFor(path), inner); err != nil {
			return nil, failErr(fmt.Errorf("bundle archived as %s, but its custody log could not be written: %w", path, err))
		}
	}
	KillPoint(StepArchiveCustody)
	res, got, err := readBackOf(path, rb)
	if err != nil {
		return nil, verifyErr(err)
	}
	if got != sum {
		return nil, verifyErr(fmt.Errorf("%s reads back with SHA-256 %s, not the %s written", path, got, sum))
	}
	rep, err := CheckOwnSeal(res, path, b.Signer)
	if err != nil {
		return nil, verifyErr(err)
	}
	if !res.OK() {
		return nil, verifyErr(fmt.Errorf("the archive just written does not verify: %s", DescribeProblems(res)))
	}
	if !t.KeepDir {
		if err := os.RemoveAll(b.Dir); err != nil {
			return nil, failErr(err)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, failErr(err)
	}
	b.Archive, b.ArchiveSHA256 = abs, sum
	return &Delivery{Form: FormTar, Location: abs, SHA256: sum, Content: contentOf(res), Kept: !t.Intermediate, Verified: res, Seal: rep}, nil
}

// Find implements Deliverer: the archive NAME.tar.zst in Plan.Out (or Path).
// An archive whose custody log is not yet beside it while the sealed
// directory NAME still is (a run killed between the archive's rename and
// its custody log) is not delivered: nil, as `verify` would refuse it.
func (t Tar) Find(_ context.Context, name string, p *Plan) (*Delivery, error) {
	path := t.Path
	if path == "" {
		path = filepath.Join(p.Out, name+manifest.ArchiveSuffix)
	}
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil, nil
	}
	if _, err := os.Stat(manifest.CustodyPathFor(path)); os.IsNotExist(err) {
		if fi, err := os.Stat(filepath.Join(p.Out, name)); err == nil && fi.IsDir() {
			return nil, nil
		}
	}
	res, sum, err := readBackArchive(path)
	if err != nil {
		return nil, verifyErr(err)
	}
	if !res.OK() {
		return nil, verifyErr(fmt.Errorf("%s does not verify: %s", path, DescribeProblems(res)))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, failErr(err)
	}
	return &Delivery{Form: FormTar, Location: abs, SHA256: sum, Content: contentOf(res), Kept: !t.Intermediate, Verified: res}, nil
}

// readBackArchive reads the archive at path once: it verifies the bundle
// it holds and hashes its bytes.
func readBackArchive(path string) (*manifest.Result, string, error) {
	var res *manifest.Result
	sum, _, err := ReadPublished(context.Background(), Published{Path: path}, func(r io.Reader) (err error) {
		res, err = archive.VerifyReader(r)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return res, sum, nil
}

// Blob uploads the archive a Tar wrote as an immutable blob under Store's
// target, reads it back and compares its SHA-256, writes the receipt beside
// the archive (NAME.tar.zst.upload.json) and prints it. Unless KeepArchive,
// the local archive is removed once the blob is confirmed (intact and
// protected, or accepted with AllowMutable).
type Blob struct {
	Store       *blob.Store
	Options     blob.Options
	KeepArchive bool
	// Open opens a store for one blob of the same account and credential,
	// for Find; nil: Find finds nothing.
	Open func(blob.Target) (*blob.Store, error)
	// Resume finishes a delivery a killed run began (grab --resume): a
	// blob already under the bundle's name that holds this bundle (read
	// back, verified, the same SHA256SUMS and archive bytes) is adopted, not
	// uploaded again; one that holds anything else is refused. A blob is
	// never overwritten, and never a second one made.
	Resume bool
}

// Step of a Blob delivery (see KillPoint), after blob.StepStaged and
// blob.StepCreated.
const StepBlobReceipt = "blob:receipt" // the receipt beside the archive, the archive not yet removed

// Deliver implements Deliverer.
func (u Blob) Deliver(ctx context.Context, b *Sealed, p *Plan) (*Delivery, error) {
	opts := u.options(p)
	if u.Resume {
		if d, err := u.adopt(ctx, b, p, opts); d != nil || err != nil {
			return d, err
		}
	}
	if b.Archive == "" {
		return nil, failErr(errors.New("pipeline: a blob output needs a tar output before it"))
	}
	w := p.stderr()
	fmt.Fprintf(w, "Uploading %s to %s ...\n", filepath.Base(b.Archive), u.Store.Target())
	rc, err := u.Store.Upload(ctx, b.Archive, b.ArchiveSHA256, opts)
	d := &Delivery{Form: FormBlob, SHA256: b.ArchiveSHA256, Content: b.Content, Receipt: rc, Kept: true}
	if rc != nil {
		d.Location = rc.URL
		d.ReceiptPath = b.Archive + ".upload.json"
		if werr := rc.WriteFile(d.ReceiptPath); werr != nil {
			return nil, failErr(fmt.Errorf("the blob was created, but its receipt could not be written: %w", werr))
		}
		fmt.Fprintf(w, "\nUpload receipt (%s):\n", d.ReceiptPath)
		rc.Print(w)
		KillPoint(StepBlobReceipt)
	}
	var mm *blob.MismatchError
	switch {
	case errors.As(err, &mm):
		return nil, verifyErr(fmt.Errorf("the blob read back is not the archive: %w", err))
	case err != nil:
		return nil, failErr(fmt.Errorf("the bundle is sealed and archived at %s, but the upload failed: %w", b.Archive, err))
	}
	return u.settle(d, b.Archive, opts, w)
}

// options are the upload options with the plan's logger and the
// crash-point hook.
func (u Blob) options(p *Plan) blob.Options {
	opts := u.Options
	opts.Logger = p.logger()
	opts.Hook = KillPoint
	return opts
}

// settle judges a blob delivered (uploaded or adopted) by its receipt's
// immutability and removes the local archive it came from, unless
// KeepArchive or the protection is not confirmed.
func (u Blob) settle(d *Delivery, archive string, opts blob.Options, w io.Writer) (*Delivery, error) {
	rc := d.Receipt
	if !rc.Immutable {
		if opts.AllowMutable {
			opts.Logger.Warn("blob is NOT immutable; accepted with --allow-mutable", "url", rc.URL)
		} else {
			opts.Logger.Warn("blob is NOT immutable (exit code 3); see the receipt", "url", rc.URL)
			d.NotImmutable = true
		}
	}
	if !u.KeepArchive && archive != "" {
		if d.NotImmutable {
			fmt.Fprintf(w, "  the local archive is kept, since the blob's immutability is not confirmed: %s\n", archive)
		} else if err := os.Remove(archive); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, failErr(err)
		}
	}
	return d, nil
}

// adopt finds the blob a killed run of this bundle created, for Resume:
// nil, nil when there is none. The blob is read back once (every hash,
// the seal by this run's key) and adopted only when it holds this bundle:
// the same SHA256SUMS (b.Content) and, when the archive is here, the same
// bytes; when neither the directory nor the archive is left (the killed
// run had removed its archive after the upload), the same case and
// collection start as this run, and the SHA-256 its receipt recorded. Its
// receipt is written beside the archive from what was read back (with the
// upload's figures when the killed run's receipt of this very blob is
// there). Anything else is refused in one line.
func (u Blob) adopt(ctx context.Context, b *Sealed, p *Plan, opts blob.Options) (*Delivery, error) {
	t, res, rep, found, err := u.readNamed(ctx, b.Name)
	if !found {
		return nil, err
	}
	refuse := func(format string, a ...any) error {
		return failErr(fmt.Errorf("--resume: the blob %s is there already and is not this bundle's (%s); a blob is never overwritten: move it aside, or deliver to another --blob-url", t, fmt.Sprintf(format, a...)))
	}
	var pe *Error
	if errors.As(err, &pe) && pe.Kind == Verify {
		return nil, refuse("it is not a bundle archive that verifies: %v", errors.Unwrap(pe.Err))
	}
	if err != nil {
		return nil, failErr(fmt.Errorf("--resume: the blob %s is there already and cannot be read back: %w", t, err))
	}
	if !res.OK() {
		return nil, refuse("it does not verify: %s", DescribeProblems(res))
	}
	sr, err := CheckOwnSeal(res, b.Name, b.Signer)
	if err != nil {
		return nil, verifyErr(err)
	}
	if !res.OK() {
		return nil, refuse("its seal: %s", DescribeProblems(res))
	}
	archive := b.Archive
	if archive == "" {
		archive = filepath.Join(p.Out, b.Name+manifest.ArchiveSuffix)
	}
	receiptPath := archive + ".upload.json"
	old := readReceipt(receiptPath)
	got := res.Manifest
	switch {
	case b.Content != "" && contentOf(res) != b.Content:
		return nil, refuse("its SHA256SUMS has SHA-256 %s, this bundle's %s", contentOf(res), b.Content)
	case b.ArchiveSHA256 != "" && rep.SHA256 != b.ArchiveSHA256:
		return nil, refuse("its bytes have SHA-256 %s, this bundle's archive %s", rep.SHA256, b.ArchiveSHA256)
	case b.Content == "" && (got.CaseID != p.Manifest.CaseID || got.CollectionStart != p.Manifest.CollectionStart):
		return nil, refuse("it holds case %s collected from %s, this run case %s from %s", got.CaseID, got.CollectionStart, p.Manifest.CaseID, p.Manifest.CollectionStart)
	case b.Content == "" && old != nil && old.LocalSHA256 != rep.SHA256:
		return nil, refuse("its bytes have SHA-256 %s, the receipt %s records %s", rep.SHA256, receiptPath, old.LocalSHA256)
	}
	w := p.stderr()
	fmt.Fprintf(w, "The blob %s is there already, read back and verified: it is this bundle's, adopted (not uploaded again).\n", rep.URL)
	st := &blob.State{URL: rep.URL, VersionID: rep.VersionID, ETag: rep.ETag, ContentLength: rep.ContentLength, LastModified: rep.LastModified, Immutability: rep.Immutability}
	rc, err := u.Store.Adopt(ctx, archive, b.ArchiveSHA256, rep.SHA256, st, opts)
	if err != nil {
		return nil, failErr(fmt.Errorf("--resume: adopting the blob %s: %w", rep.URL, err))
	}
	if old != nil && old.URL == rc.URL && old.SHA256 == rc.SHA256 && old.VersionID == rc.VersionID {
		// the killed run's receipt of this blob: keep its upload's figures
		rc.BlockSize, rc.Blocks, rc.Concurrency, rc.UploadMBps, rc.UploadedAt = old.BlockSize, old.Blocks, old.Concurrency, old.UploadMBps, old.UploadedAt
	}
	if err := durable.WriteBytes(receiptPath, 0o644, durable.Replace, rc.JSON()); err != nil {
		return nil, failErr(fmt.Errorf("the blob %s is adopted, but its receipt could not be written: %w", rc.URL, err))
	}
	fmt.Fprintf(w, "\nUpload receipt (%s):\n", receiptPath)
	rc.Print(w)
	d := &Delivery{Form: FormBlob, Location: rc.URL, SHA256: rep.SHA256, Content: contentOf(res), Kept: true,
		Verified: res, Seal: sr, Receipt: rc, ReceiptPath: receiptPath}
	return u.settle(d, b.Archive, opts, w)
}

// readReceipt reads an upload receipt, nil when there is none or it
// cannot be read.
func readReceipt(path string) *blob.Receipt {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var rc blob.Receipt
	if json.Unmarshal(b, &rc) != nil {
		return nil
	}
	return &rc
}

// Find implements Deliverer: the blob NAME.tar.zst under the store's
// target, streamed once to verify the bundle it holds and hash it.
func (u Blob) Find(ctx context.Context, name string, _ *Plan) (*Delivery, error) {
	_, res, rep, found, err := u.readNamed(ctx, name)
	if !found {
		return nil, err
	}
	if err != nil {
		return nil, failErr(err)
	}
	if !res.OK() {
		return nil, verifyErr(fmt.Errorf("%s does not verify: %s", rep.URL, DescribeProblems(res)))
	}
	return &Delivery{Form: FormBlob, Location: rep.URL, SHA256: rep.SHA256, Content: contentOf(res), Kept: true, Verified: res}, nil
}

// readNamed streams the blob NAME.tar.zst under the store's target once
// (ReadBlob): found is false when it does not exist (or there is no Open),
// and err then says why it could not be looked at.
func (u Blob) readNamed(ctx context.Context, name string) (t blob.Target, res *manifest.Result, rep *BlobReport, found bool, err error) {
	if u.Open == nil {
		return t, nil, nil, false, nil
	}
	t = u.Store.Target()
	t.Path = t.Join(name + manifest.ArchiveSuffix)
	s, err := u.Open(t)
	if err != nil {
		return t, nil, nil, false, err
	}
	res, rep, err = ReadBlob(ctx, s)
	var se *blob.ServiceError
	if errors.As(err, &se) && se.Status == 404 {
		return t, nil, nil, false, nil
	}
	return t, res, rep, true, err
}

// PackArchive writes dir as the deterministic archive final (refusing to
// replace a file), atomically through a temporary name, hashing the archive
// bytes as they are written: each bundle file is read once, and the archive
// is never read back to be hashed. It returns the archive's SHA-256.
func PackArchive(dir, prefix, final string, mtime time.Time) (string, error) {
	sum, _, err := packArchive(context.Background(), dir, prefix, final, mtime, nil)
	return sum, err
}

// notVerified is a directory that did not verify while it was archived
// (readBack: its archive, read back, did not verify against the manifest).
type notVerified struct {
	res      *manifest.Result
	readBack bool
}

func (e *notVerified) Error() string { return "does not verify: " + DescribeProblems(e.res) }

// packArchive is PackArchive that, with v set, feeds v every file as it is
// archived and keeps the archive only when the directory verifies
// (otherwise the error is a *notVerified); a cancelled ctx (Ctrl-C) stops
// the archive at the next file. It also reads the archive back from its file
// while writing it (followReadBack) and returns that read-back; nil when the
// file could not be followed (read it back after).
func packArchive(ctx context.Context, dir, prefix, final string, mtime time.Time, v *manifest.Verifier) (string, *readBack, error) {
	if _, err := os.Lstat(final); err == nil {
		return "", nil, fmt.Errorf("%s already exists", final)
	}
	h := sha256.New()
	var rb *readBack
	// archive's fixed defaults (level, concurrency): the same bundle gives
	// the same bytes on any machine.
	err := durable.Write(final, 0o644, durable.Create, func(w io.Writer) error {
		KillPoint(StepArchiveBegun)
		file, _ := w.(*os.File)
		w, wait, follow := followReadBack(w)
		// the archive reaches the disk as it is written: the fsync at its
		// end waits for the last few MiB only
		w = durable.WritebackWriter(w, file)
		// The encoder writes each compressed block (a few KiB) as it is
		// done: gathered into 1 MiB writes, the file takes 200 times
		// fewer system calls.
		bw := bufio.NewWriterSize(w, archiveWriteBuf)
		// When the read-back follows the write, it checks every member's
		// SHA-256 against the manifest, that is the directory's bytes as
		// they were archived: hashing them on the way in too would do the
		// same check twice. v then hashes nothing; a read-back that does
		// not verify removes the archive, and refusePack says whether the
		// directory or the archive is at fault.
		wv := v
		if follow {
			wv = nil
		}
		err := archive.WriteTarZstOptions(io.MultiWriter(bw, h), dir, prefix, mtime, archive.Options{Verifier: wv, Context: ctx})
		if err == nil {
			err = bw.Flush()
		}
		if follow {
			r := wait(err)
			rb = &r
		}
		if err != nil {
			return err
		}
		if wv != nil {
			if res := wv.Result(); !res.OK() {
				return &notVerified{res: res}
			}
		}
		if v != nil && follow && rb.err == nil && !rb.res.OK() {
			return &notVerified{res: rb.res, readBack: true}
		}
		KillPoint(StepArchiveWritten)
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return hex.EncodeToString(h.Sum(nil)), rb, nil
}

// archiveWriteBuf is how many archive bytes are gathered into one write of
// the file.
const archiveWriteBuf = 1 << 20

// readBackOf is the read-back of the archive at path: rb, made while it was
// written, when it read the very file now at path to its end; otherwise the
// archive is read back again.
func readBackOf(path string, rb *readBack) (*manifest.Result, string, error) {
	if rb == nil {
		return readBackArchive(path)
	}
	if rb.err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, rb.err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	if !os.SameFile(fi, rb.file) || fi.Size() != rb.size {
		return nil, "", fmt.Errorf("%s is not the file read back while it was written (%d bytes read, %d there)", path, rb.size, fi.Size())
	}
	return rb.res, rb.sum, nil
}

// Crash-point steps of a Tar delivery (see KillPoint).
const (
	StepArchiveBegun   = "archive:begun"   // the temporary file created, no file in it yet
	StepArchiveWritten = "archive:written" // every byte in the temporary file, not yet renamed
	StepArchived       = "archive:renamed" // the archive under its name, its custody log not yet beside it
	StepArchiveCustody = "archive:custody" // the custody log beside it, not yet read back
)

// samePacked returns the archive's SHA-256 when final already holds the
// bytes dir packs to (a killed run wrote it), after removing the custody
// log it may have begun beside it; "" when there is no archive there.
func samePacked(dir, prefix, final string, mtime time.Time) (string, error) {
	f, err := os.Open(final)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	defer f.Close()
	have, want := sha256.New(), sha256.New()
	if _, err := io.Copy(have, f); err != nil {
		return "", err
	}
	if err := archive.WriteTarZstOptions(want, dir, prefix, mtime, archive.Options{}); err != nil {
		return "", err
	}
	if !bytes.Equal(have.Sum(nil), want.Sum(nil)) {
		return "", fmt.Errorf("%s already exists and is not this bundle's archive", final)
	}
	if err := os.Remove(manifest.CustodyPathFor(final)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return hex.EncodeToString(want.Sum(nil)), nil
}

// refusePack is the error of a pack whose directory did not verify while
// it was archived, or could not be archived: a directory the archive
// refuses (a symlink, an unreadable file) is verified on its own to say why,
// as verify would.
func refusePack(dir string, err error) error {
	var nv *notVerified
	if !errors.As(err, &nv) || nv.readBack {
		res, verr := manifest.VerifyDir(dir)
		switch {
		case verr == nil && res.OK() && nv != nil: // the directory is right: its archive was not
			return verifyErr(fmt.Errorf("pack: the archive of %s did not read back as the directory, so it was removed: %s", dir, DescribeProblems(nv.res)))
		case verr != nil || res.OK():
			return failErr(fmt.Errorf("pack: archiving %s failed: %w", dir, err))
		}
		nv = &notVerified{res: res}
	}
	return verifyErr(fmt.Errorf("pack: %s does not verify, so it is not packed: %s", dir, DescribeProblems(nv.res)))
}

// DescribeProblems lists a verification's problems as "kind path, ...".
func DescribeProblems(r *manifest.Result) string {
	var parts []string
	for _, p := range r.Problems {
		parts = append(parts, p.Kind+" "+p.Path)
	}
	return joinSorted(parts)
}
