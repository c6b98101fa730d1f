package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func (a *app) keygenCmd() *cobra.Command {
	var prefix, comment string
	cmd := &cobra.Command{
		Use:   "keygen --out PREFIX",
		Short: "Create an Ed25519 signing key pair (PREFIX.key, PREFIX.pub)",
		Long: `keygen creates an Ed25519 key pair for signing bundles and custody entries:

  PREFIX.key  the private key, OpenSSH format, encrypted with a passphrase
              (bcrypt KDF, AES-256-CTR), file mode 0600
  PREFIX.pub  the public key, one OpenSSH line: give it to whoever will
              verify your bundles (evidence verify --pubkey, ssh-keygen -Y verify)

The passphrase comes from ` + EnvKeyPassword + ` or is asked twice on the
terminal. An existing key is never overwritten.`,
		Example: `  evidence keygen --out ~/.evidence/alice
  ` + EnvKeyPassword + `=... evidence keygen --out ci-signer --comment "CI signer, SOC"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prefix == "" {
				return usageErr("keygen: --out PREFIX is required")
			}
			pw, err := newPassphrase(a)
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
	return cmd
}

// newPassphrase reads a new passphrase from the environment or, twice, from
// the terminal.
func newPassphrase(a *app) ([]byte, error) {
	if pw, ok := os.LookupEnv(EnvKeyPassword); ok {
		if pw == "" {
			return nil, fmt.Errorf("%s is empty: a key is always encrypted", EnvKeyPassword)
		}
		return []byte(pw), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, fmt.Errorf("no passphrase: set %s or run in a terminal", EnvKeyPassword)
	}
	fmt.Fprint(a.stderr, "New passphrase: ")
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(a.stderr)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(a.stderr, "Same passphrase again: ")
	again, err := term.ReadPassword(fd)
	fmt.Fprintln(a.stderr)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(pw, again) {
		return nil, fmt.Errorf("the passphrases differ")
	}
	if len(pw) == 0 {
		return nil, fmt.Errorf("empty passphrase: a key is always encrypted")
	}
	return pw, nil
}
