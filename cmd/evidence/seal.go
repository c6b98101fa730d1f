package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/pflag"
)

// EnvKeyPassword holds the passphrase of the signing key, for unattended runs.
const EnvKeyPassword = "EVIDENCE_KEY_PASSWORD"

// sealOptions are the flags that decide how a bundle is sealed beyond its
// hashes: signature, time-stamp, and the actor of custody entries.
type sealOptions struct {
	signKey     string
	passFile    string
	tsa         string
	requireSig  bool
	trustedKeys []string
	custodyOnly bool   // custody append: the key signs custody entries only
	ns          string // the namespace the key signs, when neither a bundle's nor custody's (diff)

	signer seal.Signer // loaded from signKey before collecting
}

// namespace is what the key will sign: custody entries only, for custody
// append (which has no --tsa), else bundles.
func (o *sealOptions) namespace() string {
	if o.ns != "" {
		return o.ns
	}
	if o.custodyOnly {
		return seal.CustodyNamespace
	}
	return seal.SignatureNamespace
}

func (a *app) sealFlags(f *pflag.FlagSet, o *sealOptions) {
	f.StringVar(&o.signKey, "sign-key", "", "sign SHA256SUMS and the custody log with this Ed25519 private key (evidence keygen); passphrase from --passphrase-file, "+EnvKeyPassword+" or a prompt")
	f.StringVar(&o.passFile, "passphrase-file", "", "read the signing key's passphrase from this file (its first line)")
	f.StringVar(&o.tsa, "tsa", "", "RFC 3161 time-stamp authority URL: stamps the SHA-256 of SHA256SUMS into SHA256SUMS.tsr")
	f.BoolVar(&o.requireSig, "require-signature", false, "refuse to write an unsigned bundle")
	f.StringArrayVar(&o.trustedKeys, "trusted-keys", nil, "allowed_signers file (repeatable; default $"+seal.EnvTrustedKeys+"): refuse a --sign-key it does not trust, as verify would")
}

// loadSigner reads the signing key before anything is collected, so that a
// wrong passphrase costs seconds, not a collection.
func (a *app) loadSigner(o *sealOptions) error {
	if err := seal.CheckTSAURL(o.tsa); err != nil {
		return usageErr("%v", err)
	}
	switch {
	case o.signKey == "" && o.requireSig:
		return usageErr("--require-signature: no --sign-key given (create one with: evidence keygen --out PREFIX)")
	case o.signKey == "":
		fmt.Fprintln(a.stderr, "WARNING: no --sign-key: the bundle will be UNSIGNED; its hashes will prove it unchanged, not who sealed it")
		return nil
	case strings.HasPrefix(o.signKey, "azurekeyvault://"):
		return usageErr("--sign-key %s: Azure Key Vault holds no Ed25519 keys (only RSA and EC P-256/P-256K/P-384/P-521), and bundles are signed with Ed25519; see docs/verify.md", o.signKey)
	}
	s, err := seal.LoadSigningKey(o.signKey, func() ([]byte, error) {
		return seal.Passphrase(o.passFile, EnvKeyPassword, "Passphrase for "+o.signKey+": ", false)
	})
	if err != nil {
		return usageErr("%v", err)
	}
	if err := seal.CheckSigner(o.trustedKeys, os.Getenv(seal.EnvTrustedKeys), s, o.namespace()); err != nil {
		return usageErr("%v", err)
	}
	o.signer = s
	fmt.Fprintf(a.stderr, "Signing with key %s\n", seal.Fingerprint(s.PublicKey()))
	return nil
}

// sealPlan is how the pipeline seals a bundle: the loaded key, the
// time-stamp authority, and the sources asked for (for custody.json).
func (a *app) sealPlan(o *sealOptions, sources []string) pipeline.Seal {
	return pipeline.Seal{Signer: o.signer, TSA: o.tsa, Sources: append([]string(nil), sources...)}
}
