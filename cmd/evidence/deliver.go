package main

import (
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/spf13/pflag"
)

// The delivery flags: how a sealed bundle is delivered, as a local archive,
// a directory, an immutable blob, or both (pipeline.DeliveryFlags checks
// them).

// bundleFlag registers --bundle with the forms grab and demo accept.
func bundleFlag(f *pflag.FlagSet, o *pipeline.DeliveryFlags) {
	f.StringVar(&o.Bundle, "bundle", "tar", "bundle form: tar (a .tar.zst archive), dir (the sealed directory only), blob (an immutable Azure blob; needs --blob-url) or tar,blob")
}

// blobFlags registers the upload flags.
func blobFlags(f *pflag.FlagSet, o *pipeline.DeliveryFlags) {
	f.StringVar(&o.BlobURL, "blob-url", "", "upload to https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]; credentials: "+blob.EnvSAS+" or "+blob.EnvConnectionString+" from the environment, or an Entra ID --auth method")
	f.StringVar(&o.Retain, "retain", "", "time-based immutability from the upload: a duration like 365d, 52w, 720h or 1.5d")
	f.StringVar(&o.RetainMode, "retain-mode", blob.ModeUnlocked, "immutability policy mode: unlocked (an administrator can still shorten or delete the policy) or locked (nobody, not even Microsoft support, can shorten it or delete the blob until it expires)")
	f.BoolVar(&o.LegalHold, "legal-hold", false, "place a legal hold on the blob (kept until explicitly cleared)")
	f.BoolVar(&o.AllowMutable, "allow-mutable", false, "accept a blob whose immutability could not be read back (exit 0 instead of 3, with a warning in the receipt)")
	f.IntVar(&o.BlockSizeMiB, "block-size", blob.DefaultBlockSize>>20, "upload block size in MiB (raised automatically for archives over 50,000 blocks)")
	f.IntVar(&o.Concurrency, "upload-concurrency", blob.DefaultConcurrency, "blocks uploaded in parallel")
}
