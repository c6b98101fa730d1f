package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
)

// Small documents and leases: what a state kept in blob storage needs
// (archive/state). The names are relative to the store's container, as
// Target.Join makes them.

// Lease durations the service accepts for a finite lease (Lease Blob).
const (
	MinLease = 15 * time.Second
	MaxLease = 60 * time.Second
)

// ErrLeased is wrapped by AcquireLease when another client holds the lease.
var ErrLeased = errors.New("another client holds the lease")

// LeasedError is a refused AcquireLease: another client holds the lease.
// Metadata is what the holder wrote on the blob (possibly nothing).
type LeasedError struct {
	URL      string
	Metadata map[string]string
}

// Error implements error.
func (e *LeasedError) Error() string { return "the lease on " + e.URL + " is held by another client" }

// Unwrap makes errors.Is(err, ErrLeased) true.
func (e *LeasedError) Unwrap() error { return ErrLeased }

// ErrChanged is wrapped by WriteBlob when the blob is not at the ETag the
// write was conditional on: someone else wrote it, or it appeared or
// disappeared, since it was read.
var ErrChanged = errors.New("the blob changed since it was read")

// Lease is a lease held on one blob.
type Lease struct {
	s    *Store
	name string
	bc   *blockblob.Client
	lc   *lease.BlobClient
	d    time.Duration
}

// AcquireLease takes a lease of duration d (MinLease to MaxLease) on the
// blob name, creating it empty first when it does not exist, and writes
// meta on it under the lease (who holds it, for the message a refused
// client prints). When another client holds the lease the error is a
// *LeasedError carrying that client's metadata.
func (s *Store) AcquireLease(ctx context.Context, name string, d time.Duration, meta map[string]string) (*Lease, error) {
	if d < MinLease || d > MaxLease {
		return nil, fmt.Errorf("lease duration %s: the service accepts %s to %s", d, MinLease, MaxLease)
	}
	bc, err := s.client(name)
	if err != nil {
		return nil, err
	}
	lc, err := lease.NewBlobClient(bc, nil) // a random lease id, proposed to the service
	if err != nil {
		return nil, s.wrap("lease client", err)
	}
	url := s.target.URL(name)
	l := &Lease{s: s, name: name, bc: bc, lc: lc, d: d}
	for attempt := 0; ; attempt++ {
		_, err = lc.AcquireLease(ctx, int32(d/time.Second), nil)
		err = s.wrap("taking the lease on "+url, err)
		switch {
		case err == nil:
			if err := l.SetMetadata(ctx, meta); err != nil {
				_ = l.Release(context.WithoutCancel(ctx))
				return nil, err
			}
			return l, nil
		case isCode(err, bloberror.LeaseAlreadyPresent):
			return nil, &LeasedError{URL: url, Metadata: s.metadata(ctx, bc)}
		case isCode(err, bloberror.BlobNotFound) && attempt == 0:
			// Create the empty lock blob, only if nobody else just did.
			_, cerr := bc.Upload(ctx, nopSeeker(nil), &blockblob.UploadOptions{
				AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
			})
			if cerr = s.wrap("creating "+url, cerr); cerr != nil && status(cerr) != 409 && status(cerr) != 412 {
				return nil, cerr
			}
		default:
			return nil, err
		}
	}
}

// metadata reads a blob's metadata, best effort (for a refusal message).
func (s *Store) metadata(ctx context.Context, bc *blockblob.Client) map[string]string {
	p, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range p.Metadata {
		if v != nil {
			out[strings.ToLower(k)] = *v
		}
	}
	return out
}

// ID is the lease id (not a secret: it only proves who holds a lease that
// the credential already allows to break).
func (l *Lease) ID() string { return *l.lc.LeaseID() }

// Duration is the lease's duration.
func (l *Lease) Duration() time.Duration { return l.d }

// Renew resets the lease's clock. It fails when the lease was lost (it
// expired and another client took it).
func (l *Lease) Renew(ctx context.Context) error {
	_, err := l.lc.RenewLease(ctx, nil)
	return l.s.wrap("renewing the lease on "+l.s.target.URL(l.name), err)
}

// SetMetadata replaces the leased blob's metadata (under the lease).
func (l *Lease) SetMetadata(ctx context.Context, meta map[string]string) error {
	m := map[string]*string{}
	for k, v := range meta {
		m[k] = to.Ptr(v)
	}
	_, err := l.bc.SetMetadata(ctx, m, &blob.SetMetadataOptions{AccessConditions: &blob.AccessConditions{
		LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: l.lc.LeaseID()}}})
	return l.s.wrap("writing the metadata of "+l.s.target.URL(l.name), err)
}

// Release ends the lease, so the next client need not wait for it to
// expire.
func (l *Lease) Release(ctx context.Context) error {
	_, err := l.lc.ReleaseLease(ctx, nil)
	return l.s.wrap("releasing the lease on "+l.s.target.URL(l.name), err)
}

// ReadBlob returns the whole blob name and its ETag. It returns an error
// wrapping fs.ErrNotExist when the blob does not exist. For small
// documents: the blob is held in memory.
func (s *Store) ReadBlob(ctx context.Context, name string) ([]byte, string, error) {
	bc, err := s.client(name)
	if err != nil {
		return nil, "", err
	}
	url := s.target.URL(name)
	resp, err := bc.DownloadStream(ctx, nil)
	if err != nil {
		err = s.wrap("reading "+url, err)
		if isCode(err, bloberror.BlobNotFound) {
			return nil, "", fmt.Errorf("%w: %w", fs.ErrNotExist, err)
		}
		return nil, "", err
	}
	etag := ""
	if resp.ETag != nil {
		etag = string(*resp.ETag)
	}
	r := resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 5}) // resumes only at the same ETag
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, "", s.wrap("reading "+url, err)
	}
	if resp.ContentMD5 != nil && len(resp.ContentMD5) == md5.Size {
		if sum := md5.Sum(b); !bytes.Equal(sum[:], resp.ContentMD5) {
			return nil, "", fmt.Errorf("reading %s: the content does not match its stored MD5", url)
		}
	}
	return b, etag, nil
}

// WriteBlob replaces the blob name with b in one Put Blob (atomic: a
// reader sees the old or the new content), only if the blob is still at
// etag, or, when etag is "", only if no blob of that name exists. When the
// condition fails the error wraps ErrChanged and nothing was written. It
// returns the new ETag. The blob's Content-MD5 is set, and the service
// checks the bytes it received against it.
func (s *Store) WriteBlob(ctx context.Context, name string, b []byte, etag, contentType string) (string, error) {
	bc, err := s.client(name)
	if err != nil {
		return "", err
	}
	cond := &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}
	if etag != "" {
		cond = &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(etag))}
	}
	sum := md5.Sum(b)
	resp, err := bc.Upload(ctx, nopSeeker(b), &blockblob.UploadOptions{
		HTTPHeaders:             &blob.HTTPHeaders{BlobContentType: to.Ptr(contentType), BlobContentMD5: sum[:]},
		TransactionalValidation: blob.TransferValidationTypeMD5(sum[:]),
		AccessConditions:        &blob.AccessConditions{ModifiedAccessConditions: cond},
	})
	url := s.target.URL(name)
	if err != nil {
		err = s.wrap("writing "+url, err)
		if isCode(err, bloberror.ConditionNotMet, bloberror.BlobAlreadyExists) || (etag != "" && isCode(err, bloberror.BlobNotFound)) {
			return "", fmt.Errorf("%w: %w", ErrChanged, err)
		}
		return "", err
	}
	if resp.ETag == nil {
		return "", nil
	}
	return string(*resp.ETag), nil
}

// nopSeeker is a ReadSeekCloser over b.
func nopSeeker(b []byte) io.ReadSeekCloser { return streaming.NopCloser(bytes.NewReader(b)) }
