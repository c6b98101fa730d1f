package pipeline

import (
	"fmt"
	"github.com/evidence-dfir/evidence/collect/msg"
	"io"
	"os"
	"strings"

	"github.com/evidence-dfir/evidence/manifest/seal"
)

// EnvKeyPassword holds the passphrase of the signing key, for unattended runs.
const EnvKeyPassword = "EVIDENCE_KEY_PASSWORD"

// SealFlags are the flags that decide how a bundle is sealed beyond its
// hashes, as the command line gives them: the signing key, the time-stamp
// authority, and the keys the signer must be trusted by.
type SealFlags struct {
	SignKey     string
	PassFile    string
	TSA         string
	RequireSig  bool
	TrustedKeys []string
	CustodyOnly bool   // custody append: the key signs custody entries only
	Namespace   string // what the key signs when neither a bundle nor custody (diff)

	Signer seal.Signer // set by Load
}

// namespace is what the key will sign: custody entries only, for custody
// append (which has no --tsa), else bundles.
func (o *SealFlags) namespace() string {
	if o.Namespace != "" {
		return o.Namespace
	}
	if o.CustodyOnly {
		return seal.CustodyNamespace
	}
	return seal.SignatureNamespace
}

// Load checks the time-stamp URL and reads the signing key (asking for its
// passphrase) before anything is collected, so that a wrong passphrase
// costs seconds, not a collection; it says on stderr which key signs, or
// that the bundle will be unsigned. Its errors are usage errors.
func (o *SealFlags) Load(stderr io.Writer) error {
	if err := seal.CheckTSAURL(o.TSA); err != nil {
		return usageErr("%v", err)
	}
	switch {
	case o.SignKey == "" && o.RequireSig:
		return usageErr("--require-signature: no --sign-key given (create one with: evidence keygen --out PREFIX)")
	case o.SignKey == "":
		fmt.Fprintln(stderr, msg.T("warn.no-sign-key"))
		return nil
	case strings.HasPrefix(o.SignKey, "azurekeyvault://"):
		return usageErr("--sign-key %s: Azure Key Vault holds no Ed25519 keys (only RSA and EC P-256/P-256K/P-384/P-521), and bundles are signed with Ed25519; see docs/verify.md", o.SignKey)
	}
	s, err := seal.LoadSigningKey(o.SignKey, func() ([]byte, error) {
		return seal.Passphrase(o.PassFile, EnvKeyPassword, "Passphrase for "+o.SignKey+": ", false)
	})
	if err != nil {
		return usageErr("%v", err)
	}
	if err := seal.CheckSigner(o.TrustedKeys, os.Getenv(seal.EnvTrustedKeys), s, o.namespace()); err != nil {
		return usageErr("%v", err)
	}
	o.Signer = s
	fmt.Fprintf(stderr, "Signing with key %s\n", seal.Fingerprint(s.PublicKey()))
	return nil
}

// Plan is how the pipeline seals a bundle: the loaded key, the time-stamp
// authority, and the sources asked for (for custody.json).
func (o *SealFlags) Plan(sources []string) Seal {
	return Seal{Signer: o.Signer, TSA: o.TSA, Sources: append([]string(nil), sources...)}
}
