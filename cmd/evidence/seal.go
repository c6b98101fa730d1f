package main

import (
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/pflag"
)

// EnvKeyPassword holds the passphrase of the signing key, for unattended runs.
const EnvKeyPassword = pipeline.EnvKeyPassword

// sealOptions are the flags that decide how a bundle is sealed beyond its
// hashes (pipeline.SealFlags loads the key).
type sealOptions = pipeline.SealFlags

func (a *app) sealFlags(f *pflag.FlagSet, o *sealOptions) {
	f.StringVar(&o.SignKey, "sign-key", "", "sign SHA256SUMS and the custody log with this Ed25519 private key (evidence keygen); passphrase from --passphrase-file, "+EnvKeyPassword+" or a prompt")
	f.StringVar(&o.PassFile, "passphrase-file", "", "read the signing key's passphrase from this file (its first line)")
	f.StringVar(&o.TSA, "tsa", "", "RFC 3161 time-stamp authority URL: stamps the SHA-256 of SHA256SUMS into SHA256SUMS.tsr")
	f.BoolVar(&o.RequireSig, "require-signature", false, "refuse to write an unsigned bundle")
	f.StringArrayVar(&o.TrustedKeys, "trusted-keys", nil, "allowed_signers file (repeatable; default $"+seal.EnvTrustedKeys+"): refuse a --sign-key it does not trust, as verify would")
}

func (a *app) loadSigner(o *sealOptions) error { return o.Load(a.stderr) }

func (a *app) sealPlan(o *sealOptions, sources []string) pipeline.Seal { return o.Plan(sources) }
