package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/pipeline"
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
		return 0, fmt.Errorf("%q: want a period of at least 1h, like 365d, 52w or 720h", s)
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

// outputs turns the checked delivery flags into the pipeline's outputs:
// tar, dir, blob (an archive uploaded, then removed) or tar,blob.
func (a *app) outputs(p *deliverPlan, cred collect.TokenSource, identity, method string) ([]pipeline.Deliverer, error) {
	var out []pipeline.Deliverer
	switch {
	case p.dir:
		out = append(out, pipeline.Dir{})
	case p.tar || p.blob:
		out = append(out, pipeline.Tar{Intermediate: !p.tar})
	}
	if p.blob {
		store, err := openStore(p.target, cred, identity, method)
		if err != nil {
			return nil, err
		}
		out = append(out, pipeline.Blob{Store: store, Options: p.upload, KeepArchive: p.tar,
			Open: func(t blob.Target) (*blob.Store, error) { return openStore(t, cred, identity, method) }})
	}
	return out, nil
}
