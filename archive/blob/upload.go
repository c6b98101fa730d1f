package blob

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"golang.org/x/sync/errgroup"
)

// Defaults for Options, chosen by measurement (docs/performance.md).
const (
	DefaultBlockSize   = 8 << 20
	DefaultConcurrency = 4
	// MaxBlocks is the service's limit of blocks per blob.
	MaxBlocks = 50000
	// MaxBlockSize is the service's limit for one block (4000 MiB).
	MaxBlockSize = 4000 << 20
)

// Policy modes for Options.Mode.
const (
	ModeUnlocked = "unlocked"
	ModeLocked   = "locked"
)

// Options tune an upload and say what protection to ask for.
type Options struct {
	BlockSize   int64 // bytes per block; 0 means DefaultBlockSize (raised if the file needs more than MaxBlocks)
	Concurrency int   // blocks in flight; 0 means DefaultConcurrency

	Retain    time.Duration // time-based retention from now; 0 asks for none
	Mode      string        // ModeUnlocked (default) or ModeLocked
	LegalHold bool

	// AllowMutable accepts a blob whose immutability could not be
	// confirmed; the receipt then carries a warning.
	AllowMutable bool

	Now    func() time.Time
	Logger *slog.Logger
	// Hook, when set, is called after each named step of an upload
	// (StepStaged, StepCreated): the crash-point tests stop the process
	// there.
	Hook func(step string)
}

// Named steps of an upload, reported to Options.Hook.
const (
	StepStaged  = "blob:staged"  // every block staged, the block list not committed
	StepCreated = "blob:created" // the blob committed, not yet read back
)

func (o Options) hook(step string) {
	if o.Hook != nil {
		o.Hook(step)
	}
}

// Upload creates the blob NAME (under the target's path) from the archive
// at path, whose SHA-256 (hex) the caller computed while writing it, asks
// for the immutability in o, reads back what is in effect, and streams the
// blob back to compare its SHA-256.
//
// It returns ErrExists (wrapped) when the name is taken, a *MismatchError
// when the blob read back differs from the file, and otherwise a Receipt;
// Receipt.Immutable says whether the protection asked for (or, when none
// was asked for, any protection) was read back. The receipt is returned
// with the error when the blob was created.
func (s *Store) Upload(ctx context.Context, path, sha string, o Options) (*Receipt, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Mode == "" {
		o.Mode = ModeUnlocked
	}
	if o.Mode != ModeUnlocked && o.Mode != ModeLocked {
		return nil, fmt.Errorf("immutability mode %q: want %s or %s", o.Mode, ModeUnlocked, ModeLocked)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	bs, err := blockSize(o.BlockSize, size)
	if err != nil {
		return nil, err
	}
	name := s.target.Join(filepath.Base(path))
	bc, err := s.client(name)
	if err != nil {
		return nil, err
	}
	rc := &Receipt{
		URL: s.target.URL(name), Container: s.target.Container, Blob: name,
		Credential: s.creds.Describe(), LocalFile: filepath.Base(path), LocalSHA256: sha, ContentLength: size,
		BlockSize: bs, Concurrency: o.Concurrency, AllowMutable: o.AllowMutable,
	}

	// Fail early, before sending gigabytes, if the name is taken. The
	// conditional commit below is what guarantees it.
	if _, err := bc.GetProperties(ctx, nil); err == nil {
		return nil, fmt.Errorf("%s: %w", rc.URL, ErrExists)
	} else if st := status(s.wrap("", err)); st != 404 {
		return nil, s.wrap("checking "+rc.URL, err)
	}

	start := o.Now()
	ids, err := s.stageBlocks(ctx, bc, f, size, bs, o.Concurrency)
	if err != nil {
		return nil, err
	}
	rc.Blocks = len(ids)
	o.hook(StepStaged)

	req := Immutability{LegalHold: o.LegalHold}
	commit := &blockblob.CommitBlockListOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("application/zstd")},
		Metadata:         map[string]*string{"sha256": to.Ptr(sha)},
	}
	if o.Retain > 0 {
		until := o.Now().Add(o.Retain).UTC().Truncate(time.Second)
		req.Until, req.Mode = until.Format(time.RFC3339), o.Mode
		commit.ImmutabilityPolicyExpiryTime = &until
		commit.ImmutabilityPolicyMode = to.Ptr(blob.ImmutabilityPolicySetting(o.Mode))
	}
	if o.LegalHold {
		commit.LegalHold = to.Ptr(true)
	}
	rc.Requested = req
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	resp, err := bc.CommitBlockList(ctx, ids, commit)
	err = s.wrap("creating "+rc.URL, err)
	if err != nil && (o.Retain > 0 || o.LegalHold) && refusedProtection(err) {
		// The service refused the protection (no version-level immutability
		// on this container or account): create the blob without it, and
		// say so. Nothing is claimed that is not read back.
		rc.Notes = append(rc.Notes, "the service refused the immutability policy or legal hold at creation: "+err.Error())
		commit.ImmutabilityPolicyExpiryTime, commit.ImmutabilityPolicyMode, commit.LegalHold = nil, nil, nil
		resp, err = bc.CommitBlockList(ctx, ids, commit)
		err = s.wrap("creating "+rc.URL, err)
	}
	if err != nil {
		if isCode(err, bloberror.BlobAlreadyExists) || status(err) == 409 && isCode(err, bloberror.ConditionNotMet) {
			return nil, fmt.Errorf("%s: %w", rc.URL, ErrExists)
		}
		return nil, err
	}
	rc.UploadedAt = o.Now().UTC().Format(time.RFC3339)
	if d := o.Now().Sub(start).Seconds(); d > 0 {
		rc.UploadMBps = float64(int(float64(size)/d/1e6*10)) / 10
	}
	o.Logger.Info("blob created", "url", rc.URL, "bytes", size, "blocks", len(ids))
	o.hook(StepCreated)
	if resp.VersionID != nil {
		rc.VersionID = *resp.VersionID
	}
	if resp.ETag != nil {
		rc.ETag = string(*resp.ETag)
	}

	vc, err := s.versionClient(bc, rc.VersionID)
	if err != nil {
		return rc, err
	}
	if err := s.protect(ctx, vc, rc, req, o); err != nil {
		return rc, err
	}
	got, n, err := s.hashBlob(ctx, vc, rc.ETag)
	if err != nil {
		return rc, err
	}
	rc.SHA256 = got
	rc.VerifiedAt = o.Now().UTC().Format(time.RFC3339)
	if got != sha || n != size {
		return rc, &MismatchError{URL: rc.URL, Want: sha, Got: got, WantSize: size, GotSize: n}
	}
	rc.SHA256Matches = true
	return rc, nil
}

// protect reads the blob's protection back into rc; what was asked for
// (req) and is not in effect is asked for once more with the explicit
// operations (a service without version-level immutability refuses them;
// the reason goes into the receipt), then read back again and judged.
func (s *Store) protect(ctx context.Context, vc *blockblob.Client, rc *Receipt, req Immutability, o Options) error {
	if err := s.readBack(ctx, vc, rc); err != nil {
		return err
	}
	if o.Retain > 0 && !rc.ReadBack.covers(req, true, false) {
		until, _ := time.Parse(time.RFC3339, req.Until)
		_, err := vc.BlobClient().SetImmutabilityPolicy(ctx, until, &blob.SetImmutabilityPolicyOptions{Mode: to.Ptr(blob.ImmutabilityPolicySetting(o.Mode))})
		if err != nil {
			rc.Notes = append(rc.Notes, "setting the immutability policy after creation failed: "+s.wrap("Set Blob Immutability Policy", err).Error())
		}
	}
	if o.LegalHold && !rc.ReadBack.LegalHold {
		if _, err := vc.BlobClient().SetLegalHold(ctx, true, nil); err != nil {
			rc.Notes = append(rc.Notes, "setting the legal hold after creation failed: "+s.wrap("Set Blob Legal Hold", err).Error())
		}
	}
	if err := s.readBack(ctx, vc, rc); err != nil {
		return err
	}
	rc.judge(req, o.Retain > 0 || o.LegalHold, o.Now())
	return nil
}

// refusedProtection says whether a commit error looks like a refusal of
// the immutability headers rather than of the upload itself.
func refusedProtection(err error) bool {
	switch status(err) {
	case 400, 409:
		return !isCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet, bloberror.InvalidBlockList, bloberror.InvalidBlockID)
	}
	return false
}

// blockSize picks the block size: the asked one, raised to fit MaxBlocks.
func blockSize(asked, size int64) (int64, error) {
	if asked <= 0 {
		asked = DefaultBlockSize
	}
	if need := (size + MaxBlocks - 1) / MaxBlocks; asked < need {
		asked = (need + 1<<20 - 1) / (1 << 20) * (1 << 20)
	}
	if asked > MaxBlockSize {
		return 0, fmt.Errorf("block size %d exceeds the service's limit of %d bytes", asked, int64(MaxBlockSize))
	}
	return asked, nil
}

// blockID is the fixed-width, base64 id of block i.
func blockID(i int) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("evidence-%08d", i)))
}

// stageBlocks uploads the file's blocks with Put Block, n at a time. Each
// block is read from the file where it lies (no copy in memory) and sent
// with its MD5, which the service checks.
func (s *Store) stageBlocks(ctx context.Context, bc *blockblob.Client, f *os.File, size, bs int64, n int) ([]string, error) {
	count := int((size + bs - 1) / bs)
	if count == 0 {
		count = 1 // an empty archive is one empty block
	}
	if count > MaxBlocks {
		return nil, fmt.Errorf("%d blocks exceed the service's limit of %d", count, MaxBlocks)
	}
	ids := make([]string, count)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for i := range count {
		ids[i] = blockID(i)
		off := int64(i) * bs
		length := min(bs, size-off)
		g.Go(func() error {
			h := md5.New()
			if _, err := io.Copy(h, io.NewSectionReader(f, off, length)); err != nil {
				return fmt.Errorf("reading block %d: %w", i, err)
			}
			body := streaming.NopCloser(io.NewSectionReader(f, off, length))
			_, err := bc.StageBlock(gctx, ids[i], body, &blockblob.StageBlockOptions{
				TransactionalValidation: blob.TransferValidationTypeMD5(h.Sum(nil)),
			})
			return s.wrap("uploading block "+strconv.Itoa(i), err)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return ids, nil
}

// versionClient targets the version just created when the account keeps
// versions, so that everything read back is that exact version.
func (s *Store) versionClient(bc *blockblob.Client, version string) (*blockblob.Client, error) {
	if version == "" {
		return bc, nil
	}
	vc, err := bc.WithVersionID(version)
	return vc, s.wrap("blob version client", err)
}

// readBack fills the receipt from the blob's properties as the service
// reports them now.
func (s *Store) readBack(ctx context.Context, bc *blockblob.Client, rc *Receipt) error {
	p, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return s.wrap("reading back "+rc.URL, err)
	}
	st := stateFrom(p)
	rc.ReadBack = st.Immutability
	if st.ETag != "" {
		rc.ETag = st.ETag
	}
	if st.VersionID != "" {
		rc.VersionID = st.VersionID
	}
	if st.ContentLength != rc.ContentLength {
		return &MismatchError{URL: rc.URL, Want: rc.LocalSHA256, WantSize: rc.ContentLength, GotSize: st.ContentLength}
	}
	return nil
}

// hashBlob streams the blob (at etag) and returns its SHA-256 and length.
func (s *Store) hashBlob(ctx context.Context, bc *blockblob.Client, etag string) (string, int64, error) {
	r, err := s.open(ctx, bc, etag)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, s.wrap("reading the blob back", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// open streams the blob, resuming after transient failures as long as its
// ETag is unchanged.
func (s *Store) open(ctx context.Context, bc *blockblob.Client, etag string) (io.ReadCloser, error) {
	opts := &blob.DownloadStreamOptions{}
	if etag != "" {
		e := azcore.ETag(etag)
		opts.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &e}}
	}
	resp, err := bc.DownloadStream(ctx, opts)
	if err != nil {
		return nil, s.wrap("downloading", err)
	}
	return resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 5}), nil
}

// MismatchError says that the blob read back is not the local archive.
type MismatchError struct {
	URL               string
	Want, Got         string
	WantSize, GotSize int64
}

// Error implements error.
func (e *MismatchError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("%s: read back %d bytes, the local archive has %d", e.URL, e.GotSize, e.WantSize)
	}
	return fmt.Sprintf("%s: read back SHA-256 %s (%d bytes), the local archive has %s (%d bytes)", e.URL, e.Got, e.GotSize, e.Want, e.WantSize)
}

// IsExists reports whether err says the blob name is taken.
func IsExists(err error) bool { return errors.Is(err, ErrExists) }

// Adopt returns the receipt of the blob that an interrupted run created
// from the archive at path (SHA-256 sha, "" when that archive is gone)
// under the store's target: st is the blob's properties and got the
// SHA-256 of its bytes at st.ETag, both as the caller just read them back.
// Nothing is uploaded and the blob is never written; the protection asked
// for in o and not in effect is asked for once more, as Upload does, the
// retention counted from the blob's creation (its Last-Modified, less a
// minute for the clocks). The receipt says it was adopted. A
// *MismatchError when the blob's bytes are not the archive's.
func (s *Store) Adopt(ctx context.Context, path, sha, got string, st *State, o Options) (*Receipt, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Mode == "" {
		o.Mode = ModeUnlocked
	}
	name := s.target.Join(filepath.Base(path))
	bc, err := s.client(name)
	if err != nil {
		return nil, err
	}
	if sha == "" {
		sha = got
	}
	rc := &Receipt{
		URL: s.target.URL(name), Container: s.target.Container, Blob: name, VersionID: st.VersionID, ETag: st.ETag,
		Credential: s.creds.Describe(), LocalFile: filepath.Base(path), LocalSHA256: sha, ContentLength: st.ContentLength,
		UploadedAt: st.LastModified, AllowMutable: o.AllowMutable, SHA256: got,
		Notes: []string{"adopted: an earlier, interrupted run of this bundle created the blob; this run read it back, verified it and did not upload it again"},
	}
	req := Immutability{LegalHold: o.LegalHold}
	if o.Retain > 0 {
		created, err := time.Parse(time.RFC3339, st.LastModified)
		if err != nil {
			created = o.Now()
		}
		req.Until, req.Mode = created.Add(-time.Minute).Add(o.Retain).UTC().Truncate(time.Second).Format(time.RFC3339), o.Mode
	}
	rc.Requested = req
	vc, err := s.versionClient(bc, rc.VersionID)
	if err != nil {
		return rc, err
	}
	if err := s.protect(ctx, vc, rc, req, o); err != nil {
		return rc, err
	}
	rc.VerifiedAt = o.Now().UTC().Format(time.RFC3339)
	if got != sha {
		return rc, &MismatchError{URL: rc.URL, Want: sha, Got: got, WantSize: rc.ContentLength, GotSize: st.ContentLength}
	}
	rc.SHA256Matches = true
	return rc, nil
}
