package main

import (
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/cobra"
)

func (a *app) verifyCmd() *cobra.Command {
	var (
		so   seal.TrustFlags
		auth collect.AuthOptions
	)
	cmd := &cobra.Command{
		Use:   "verify BUNDLE",
		Short: "Check a bundle (directory, .tar.zst or blob URL): every hash, every file, the manifest",
		Long: `verify recomputes the SHA-256 of every file of a bundle and compares it with
SHA256SUMS, names each file that is missing, added or changed, checks that
manifest.json agrees with SHA256SUMS and with the files (sizes, record
counts), and refuses unsafe archive entries (absolute paths, "..", links).
Then it checks the seal: the signature of SHA256SUMS against the trusted
keys (--trusted-keys FILE in ssh-keygen's allowed_signers format, or
$EVIDENCE_TRUSTED_KEYS, and --pubkey; the key named in a bundle is never
trusted by itself), the RFC 3161 time-stamp, and the hash-chained custody
log (inside the bundle and, for NAME.tar.zst, NAME.custody.jsonl beside it,
which must be there), and prints the custody history. Who signed is one
line: trusted, UNTRUSTED, SELF-SIGNED (no trusted keys given), UNSIGNED or
INVALID (--json: seal.trust).

Given a blob URL (https://ACCOUNT.blob.core.windows.net/CONTAINER/NAME.tar.zst),
it streams the blob once, verifies it as a local archive, compares its
SHA-256 with the one recorded at upload, and reports the immutability
policy and legal hold in effect now. Credentials as for the upload:
EVIDENCE_BLOB_SAS or AZURE_STORAGE_CONNECTION_STRING, or --auth.

Exit 0 when everything matches; 5 when everything matches but a signature
is by a key outside the trusted keys; 4 when anything else does not.`,
		Example: `  evidence verify --trusted-keys allowed_signers evidence-20261125T015600Z-3f2a9c1d.tar.zst
  evidence verify --json ./evidence-20261125T015600Z-3f2a9c1d
  EVIDENCE_BLOB_SAS=... evidence verify https://acct.blob.core.windows.net/evidence/evidence-20261125T015600Z-3f2a9c1d.tar.zst`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := so.Options()
			if err != nil {
				return usageErr("%v", err)
			}
			v, err := pipeline.VerifyBundle(cmd.Context(), args[0], opts, auth)
			if err != nil {
				return err
			}
			a.code = verifyExit(v.Files)
			if a.asJSON {
				if err := v.WriteJSON(a.stdout, a.code); err != nil {
					return failErr(err)
				}
			} else {
				v.WriteText(a.stdout)
			}
			return nil
		},
	}
	a.jsonFlag(cmd.Flags())
	f := cmd.Flags()
	f.StringArrayVar(&so.TrustedKeys, "trusted-keys", nil, "trusted keys file in ssh-keygen's allowed_signers format (repeatable; default $"+seal.EnvTrustedKeys+"): the signature and signed custody entries must be by one of its keys")
	f.StringArrayVar(&so.Pubkeys, "pubkey", nil, "trusted public key file (PREFIX.pub, an authorized_keys or allowed_signers file; repeatable), trusted with --trusted-keys")
	f.StringArrayVar(&so.TSACAs, "tsa-ca", nil, "trusted root certificate(s) of the time-stamp authority, PEM (repeatable); added to the system's")
	f.BoolVar(&so.RequireSig, "require-signature", false, "an unsigned bundle fails verification; needs trusted keys")
	authFlags(cmd.Flags(), &auth)
	return cmd
}
