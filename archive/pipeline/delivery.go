package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/collect"
)

// DeliveryFlags say how a sealed bundle is to be delivered, as the command
// line gives them: a local archive, a directory, an immutable blob, or both.
type DeliveryFlags struct {
	Bundle       string // tar, dir, blob or tar,blob
	BlobURL      string
	Retain       string // a collect.ParseDuration period, at least 1h
	RetainMode   string // blob.ModeUnlocked or blob.ModeLocked
	LegalHold    bool
	AllowMutable bool
	BlockSizeMiB int
	Concurrency  int
}

// DeliveryPlan is DeliveryFlags checked.
type DeliveryPlan struct {
	Tar, Dir, Blob bool
	Target         blob.Target  // with Blob
	Upload         blob.Options // with Blob
}

// Plan checks d before anything is collected; the errors are usage errors
// naming the flag. allowDir says whether "dir" is a form (not for pack,
// which always writes an archive).
func (d DeliveryFlags) Plan(allowDir bool) (*DeliveryPlan, error) {
	p := &DeliveryPlan{}
	switch strings.ReplaceAll(d.Bundle, " ", "") {
	case "tar":
		p.Tar = true
	case "dir":
		p.Dir = allowDir
	case "blob":
		p.Blob = true
	case "tar,blob", "blob,tar":
		p.Tar, p.Blob = true, true
	}
	if !p.Tar && !p.Dir && !p.Blob {
		return nil, usageErr("--bundle %q: use tar, dir, blob or tar,blob", d.Bundle)
	}
	if p.Blob != (d.BlobURL != "") {
		if p.Blob {
			return nil, usageErr("--bundle %s needs --blob-url https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]", d.Bundle)
		}
		return nil, usageErr("--blob-url is given but --bundle is %s: use --bundle blob or --bundle tar,blob", d.Bundle)
	}
	if !p.Blob {
		if d.Retain != "" || d.LegalHold || d.AllowMutable {
			return nil, usageErr("--retain, --legal-hold and --allow-mutable apply to a blob upload: add --bundle blob and --blob-url")
		}
		return p, nil
	}
	t, err := blob.ParseURL(d.BlobURL)
	if err != nil {
		return nil, usageErr("--blob-url: %v", err)
	}
	p.Target = t
	if d.RetainMode != blob.ModeUnlocked && d.RetainMode != blob.ModeLocked {
		return nil, usageErr("--retain-mode %q: use unlocked or locked", d.RetainMode)
	}
	p.Upload = blob.Options{Mode: d.RetainMode, LegalHold: d.LegalHold, AllowMutable: d.AllowMutable, Concurrency: d.Concurrency, BlockSize: int64(d.BlockSizeMiB) << 20}
	if d.Retain != "" {
		r, err := ParseRetain(d.Retain)
		if err != nil {
			return nil, usageErr("--retain: %v", err)
		}
		p.Upload.Retain = r
	}
	if d.BlockSizeMiB < 1 || d.BlockSizeMiB > blob.MaxBlockSize>>20 {
		return nil, usageErr("--block-size %d: use 1 to %d (MiB)", d.BlockSizeMiB, blob.MaxBlockSize>>20)
	}
	if d.Concurrency < 1 || d.Concurrency > 64 {
		return nil, usageErr("--upload-concurrency %d: use 1 to 64", d.Concurrency)
	}
	return p, nil
}

// ParseRetain reads a retention period (collect.ParseDuration), at least
// one hour.
func ParseRetain(s string) (time.Duration, error) {
	d, err := collect.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < time.Hour {
		return 0, fmt.Errorf("%q: want a period of at least 1h, like 365d, 52w or 720h", s)
	}
	return d, nil
}

// OpenStore builds the blob store: credentials from the environment first,
// otherwise the Entra ID credential (the same --auth as for Graph; azblob
// asks it for a storage token). A Graph bearer token (--auth token) cannot
// write to storage. Its errors are usage errors.
func OpenStore(t blob.Target, token collect.TokenSource, identity, method string) (*blob.Store, error) {
	creds, err := blob.EnvCredentials()
	if err != nil {
		return nil, usageErr("%v", err)
	}
	if !creds.FromEnv() {
		if token == nil || method == "token" || method == "" {
			return nil, usageErr("no credential for the blob upload: set %s or %s, or use an Entra ID --auth method (%s)", blob.EnvSAS, blob.EnvConnectionString, strings.Join(collect.StorageAuthMethods(), ", "))
		}
		creds.Token, creds.TokenIdentity = token, identity
	}
	s, err := blob.NewStore(t, creds)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return s, nil
}

// Deliverers turns the plan into the pipeline's outputs: tar, dir, blob
// (an archive uploaded, then removed) or tar,blob.
func (p *DeliveryPlan) Deliverers(cred collect.TokenSource, identity, method string) ([]Deliverer, error) {
	var out []Deliverer
	switch {
	case p.Dir:
		out = append(out, Dir{})
	case p.Tar || p.Blob:
		out = append(out, Tar{Intermediate: !p.Tar})
	}
	if p.Blob {
		store, err := OpenStore(p.Target, cred, identity, method)
		if err != nil {
			return nil, err
		}
		out = append(out, Blob{Store: store, Options: p.Upload, KeepArchive: p.Tar,
			Open: func(t blob.Target) (*blob.Store, error) { return OpenStore(t, cred, identity, method) }})
	}
	return out, nil
}
