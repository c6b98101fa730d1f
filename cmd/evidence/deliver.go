package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/spf13/pflag"
)

// deliverOptions are the flags that say how a sealed bundle is delivered:
// as a local archive, a directory, an immutable blob, or both.
type deliverOptions struct {
	bundle       string
	blobURL      string
	retain       string
	retainMode   string
	legalHold    bool
	allowMutable bool
	blockSizeMiB int
	concurrency  int
}

// bundleFlag registers --bundle with the forms grab and demo accept.
func bundleFlag(f *pflag.FlagSet, o *deliverOptions) {
	f.StringVar(&o.bundle, "bundle", "tar", "bundle form: tar (a .tar.zst archive), dir (the sealed directory only), blob (an immutable Azure blob; needs --blob-url) or tar,blob")
}

// blobFlags registers the upload flags.
func blobFlags(f *pflag.FlagSet, o *deliverOptions) {
	f.StringVar(&o.blobURL, "blob-url", "", "upload to https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]; credentials: "+blob.EnvSAS+" or "+blob.EnvConnectionString+" from the environment, or an Entra ID --auth method")
	f.StringVar(&o.retain, "retain", "", "time-based immutability from the upload: a duration like 365d, 52w, 720h or 1.5d")
	f.StringVar(&o.retainMode, "retain-mode", blob.ModeUnlocked, "immutability policy mode: unlocked (an administrator can still shorten or delete the policy) or locked (nobody, not even Microsoft support, can shorten it or delete the blob until it expires)")
	f.BoolVar(&o.legalHold, "legal-hold", false, "place a legal hold on the blob (kept until explicitly cleared)")
	f.BoolVar(&o.allowMutable, "allow-mutable", false, "accept a blob whose immutability could not be read back (exit 0 instead of 3, with a warning in the receipt)")
	f.IntVar(&o.blockSizeMiB, "block-size", blob.DefaultBlockSize>>20, "upload block size in MiB (raised automatically for archives over 50,000 blocks)")
	f.IntVar(&o.concurrency, "upload-concurrency", blob.DefaultConcurrency, "blocks uploaded in parallel")
}

// deliverPlan is deliverOptions checked.
type deliverPlan struct {
	tar, dir, blob bool
	target         blob.Target
	upload         blob.Options
}

// plan checks the delivery flags. allowDir says whether "dir" is a form
// (not for pack, which always writes an archive).
func (o *deliverOptions) plan(allowDir bool) (*deliverPlan, error) {
	p := &deliverPlan{}
	switch strings.ReplaceAll(o.bundle, " ", "") {
	case "tar":
		p.tar = true
	case "dir":
		p.dir = allowDir
	case "blob":
		p.blob = true
	case "tar,blob", "blob,tar":
		p.tar, p.blob = true, true
	}
	if !p.tar && !p.dir && !p.blob {
		return nil, usageErr("--bundle %q: use tar, dir, blob or tar,blob", o.bundle)
	}
	if p.blob != (o.blobURL != "") {
		if p.blob {
			return nil, usageErr("--bundle %s needs --blob-url https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]", o.bundle)
		}
		return nil, usageErr("--blob-url is given but --bundle is %s: use --bundle blob or --bundle tar,blob", o.bundle)
	}
	if !p.blob {
		if o.retain != "" || o.legalHold || o.allowMutable {
			return nil, usageErr("--retain, --legal-hold and --allow-mutable apply to a blob upload: add --bundle blob and --blob-url")
		}
		return p, nil
	}
	t, err := blob.ParseURL(o.blobURL)
	if err != nil {
		return nil, usageErr("--blob-url: %v", err)
	}
	p.target = t
	if o.retainMode != blob.ModeUnlocked && o.retainMode != blob.ModeLocked {
		return nil, usageErr("--retain-mode %q: use unlocked or locked", o.retainMode)
	}
	p.upload = blob.Options{Mode: o.retainMode, LegalHold: o.legalHold, AllowMutable: o.allowMutable, Concurrency: o.concurrency, BlockSize: int64(o.blockSizeMiB) << 20}
	if o.retain != "" {
		d, err := parseRetain(o.retain)
		if err != nil {
			return nil, usageErr("--retain: %v", err)
		}
		p.upload.Retain = d
	}
	if o.blockSizeMiB < 1 || o.blockSizeMiB > blob.MaxBlockSize>>20 {
		return nil, usageErr("--block-size %d: use 1 to %d (MiB)", o.blockSizeMiB, blob.MaxBlockSize>>20)
	}
	if o.concurrency < 1 || o.concurrency > 64 {
		return nil, usageErr("--upload-concurrency %d: use 1 to 64", o.concurrency)
	}
	return p, nil
}

// parseRetain reads a retention period (collect.ParseDuration), at least
// one hour.
func parseRetain(s string) (time.Duration, error) {
	d, err := collect.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < time.Hour {
		return 0, fmt.Errorf("%q: want at least 1h, like 365d, 52w or 720h", s)
	}
	return d, nil
}

// openStore builds the blob store: credentials from the environment first,
// otherwise the Entra ID credential (the same --auth as for Graph; azblob
// asks it for a storage token). A Graph bearer token (--auth token) cannot
// write to storage.
func openStore(t blob.Target, token collect.TokenSource, identity, method string) (*blob.Store, error) {
	creds, err := blob.EnvCredentials()
	if err != nil {
		return nil, usageErr("%v", err)
	}
	if !creds.FromEnv() {
		if token == nil || method == "token" || method == "" {
			return nil, usageErr("no credential for the blob upload: set %s or %s, or use an Entra ID --auth method (device, secret, certificate, managed-identity, azcli, env)", blob.EnvSAS, blob.EnvConnectionString)
		}
		creds.Token, creds.TokenIdentity = token, identity
	}
	s, err := blob.NewStore(t, creds)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return s, nil
}

// uploadResult is what a delivery to blob storage produced.
type uploadResult struct {
	receipt     *blob.Receipt
	receiptPath string
	code        int // ExitOK, or ExitIncomplete when immutability was not confirmed
}

// upload sends the archive at path to the store, writes the receipt beside
// the archive as NAME.tar.zst.upload.json, prints it to stderr, and maps
// the outcome to an exit code. The receipt is the custody record of the
// upload (blob.Receipt).
func (a *app) upload(ctx context.Context, s *blob.Store, path, sum string, opts blob.Options) (*uploadResult, error) {
	opts.Logger = a.log
	fmt.Fprintf(a.stderr, "Uploading %s to %s ...\n", filepath.Base(path), s.Target())
	rc, err := s.Upload(ctx, path, sum, opts)
	res := &uploadResult{receipt: rc}
	if rc != nil {
		res.receiptPath = path + ".upload.json"
		if werr := rc.WriteFile(res.receiptPath); werr != nil {
			return res, failErr(fmt.Errorf("the blob was created, but its receipt could not be written: %w", werr))
		}
		fmt.Fprintf(a.stderr, "\nUpload receipt (%s):\n", res.receiptPath)
		rc.Print(a.stderr)
	}
	var mm *blob.MismatchError
	switch {
	case errors.As(err, &mm):
		return res, &exitError{code: ExitVerify, err: fmt.Errorf("the blob read back is not the archive: %w", err)}
	case err != nil:
		return res, failErr(fmt.Errorf("the bundle is sealed and archived at %s, but the upload failed: %w", path, err))
	}
	if !rc.Immutable {
		if opts.AllowMutable {
			a.log.Warn("blob is NOT immutable; accepted with --allow-mutable", "url", rc.URL)
		} else {
			a.log.Warn("blob is NOT immutable (exit code 3); see the receipt", "url", rc.URL)
			res.code = ExitIncomplete
		}
	}
	return res, nil
}

// packArchive writes dir as the deterministic archive final (refusing to
// replace a file), atomically through a temporary name, hashing the archive
// bytes as they are written: each bundle file is read once, and the archive
// is never read back to be hashed.
func packArchive(dir, prefix, final string, mtime time.Time) (string, error) {
	if _, err := os.Lstat(final); err == nil {
		return "", fmt.Errorf("%s already exists", final)
	}
	tmp := filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+".partial")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(tmp)
		return "", err
	}
	h := sha256.New()
	if err := archive.WriteTarZstOptions(io.MultiWriter(f, h), dir, prefix, mtime, archiveOptions); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := publish(tmp, final); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// publish moves tmp to final without replacing an existing file: a hard
// link fails if final exists; where links are not supported (FAT, exFAT
// drives), it falls back to a rename after checking.
func publish(tmp, final string) error {
	err := os.Link(tmp, final)
	switch {
	case err == nil:
		return os.Remove(tmp)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s already exists", final)
	}
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("%s already exists", final)
	}
	return os.Rename(tmp, final)
}

// archiveOptions are the zstd settings of every archive: archive's fixed
// defaults (DefaultLevel, DefaultConcurrency), so that the same bundle gives
// the same bytes on any machine.
var archiveOptions = archive.Options{}

// deliverBlob uploads grab's archive. With --bundle blob alone, the local
// archive is removed once the blob is read back intact and its protection
// confirmed (or accepted with --allow-mutable), and the bundle's path
// becomes the blob's URL; otherwise the archive stays.
func (a *app) deliverBlob(ctx context.Context, s *blob.Store, p *deliverPlan, res *grabResult) error {
	up, err := a.upload(ctx, s, res.path, res.sha256, p.upload)
	if err != nil {
		return err
	}
	res.receipt = up.receipt
	res.code = max(res.code, up.code)
	if !p.tar && up.code == ExitOK {
		if err := os.Remove(res.path); err != nil {
			return failErr(err)
		}
		res.path = up.receipt.URL
	} else if !p.tar {
		fmt.Fprintf(a.stderr, "  the local archive is kept, since the blob's immutability is not confirmed: %s\n", res.path)
	}
	return nil
}
