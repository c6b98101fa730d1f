package main

import (
	"fmt"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/cobra"
)

func (a *app) keygenCmd() *cobra.Command {
	var prefix, comment, passFile string
	cmd := &cobra.Command{
		Use:   "keygen --out PREFIX",
		Short: "Create an Ed25519 signing key pair (PREFIX.key, PREFIX.pub)",
		Long: `keygen creates an Ed25519 key pair for signing bundles and custody entries:

  PREFIX.key  the private key, OpenSSH format, encrypted with a passphrase
              (bcrypt KDF, AES-256-CTR), file mode 0600
  PREFIX.pub  the public key, one OpenSSH line: give it to whoever will
              verify your bundles (evidence verify --pubkey, ssh-keygen -Y verify)

The passphrase comes from --passphrase-file (its first line), else from
` + EnvKeyPassword + `, else it is asked twice on the terminal (/dev/tty). Without
any of them keygen says so and stops. An existing key is never overwritten.`,
		Example: `  evidence keygen --out ~/.evidence/alice
  ` + EnvKeyPassword + `=... evidence keygen --out ci-signer --comment "CI signer, SOC"
  evidence keygen --out ci-signer --passphrase-file /run/secrets/evidence-key-passphrase`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prefix == "" {
				return usageErr("keygen: --out PREFIX is required")
			}
			pw, err := seal.Passphrase(passFile, EnvKeyPassword, "New passphrase: ", true)
			if err != nil {
				return usageErr("keygen: %v", err)
			}
			if comment == "" {
				comment = pipeline.OSUser() + "@" + pipeline.Hostname()
			}
			pub, err := seal.GenerateKey(prefix, pw, comment)
			if err != nil {
				return usageErr("keygen: %v", err)
			}
			fmt.Fprintf(a.stderr, "Private key: %s.key (keep it; mode 0600)\nPublic key:  %s.pub (give it to verifiers)\n", prefix, prefix)
			fmt.Fprintln(a.stdout, seal.Fingerprint(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "out", "", "path prefix of the key files: PREFIX.key and PREFIX.pub")
	cmd.Flags().StringVar(&comment, "comment", "", "comment stored with the key (default USER@HOST)")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "read the new key's passphrase from this file (its first line) instead of "+EnvKeyPassword+" or the terminal")
	return cmd
}
