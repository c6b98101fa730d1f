package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/evidence-dfir/evidence/archive/diff"
	"github.com/evidence-dfir/evidence/manifest/durable"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/cobra"
)

func (a *app) diffCmd() *cobra.Command {
	var (
		asJSON bool
		out    string
		so     sealOptions
	)
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "What changed between two bundles' snapshots: objects that appeared, disappeared or changed",
		Long: `diff verifies two bundles (directories or .tar.zst) and compares what they
hold of the tenant's state: the snapshot of the subject's persistence, the
tenant posture and the security signals. Objects are matched by id within
the same file and compared property by property; properties that change by
themselves (last sign-in times, mail folder counts: docs/cli.md lists them) are
ignored. A file that either bundle did not collect completely is listed as
not compared, never as objects that disappeared.

A change to a record that a finding of NEW points at (a new forwarding rule,
a new app credential, a disabled policy) is an alert: exit 6, so that a
scheduler can raise it. --out writes the comparison as JSON; with --sign-key
it is signed beside it (FILE.sig, namespace "evidence-diff", for ssh-keygen -Y
verify).

Exit 0 compared (no alert), 1 bad usage, 4 a bundle does not verify, 6
changes that match a finding.`,
		Example: `  evidence diff bundles/evidence-20261204T060000Z-1a2b3c4d.tar.zst bundles/evidence-20261205T060000Z-5e6f7a8b.tar.zst
  evidence diff --json OLD_DIR NEW_DIR > diff.json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if so.SignKey != "" && out == "" {
				return usageErr("--sign-key signs the file --out writes: give --out FILE")
			}
			if so.SignKey != "" {
				so.Namespace = diff.Namespace // the trusted keys must allow the key for comparisons
				if err := a.loadSigner(&so); err != nil {
					return err
				}
			}
			res, err := diff.Compare(args[0], args[1])
			var nv *diff.NotVerifiedError
			switch {
			case errors.As(err, &nv):
				return &exitError{code: ExitVerify, err: err}
			case err != nil:
				return usageErr("%v", err)
			}
			b, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				return failErr(err)
			}
			b = append(b, '\n')
			if out != "" {
				if err := durable.WriteBytes(out, 0o644, durable.Replace, b); err != nil {
					return failErr(err)
				}
				if so.Signer != nil {
					sig, err := seal.SignBytes(b, so.Signer, diff.Namespace)
					if err != nil {
						return failErr(err)
					}
					if err := durable.WriteBytes(out+".sig", 0o644, durable.Replace, sig); err != nil {
						return failErr(err)
					}
				}
			}
			if asJSON {
				a.stdout.Write(b)
			} else {
				res.WriteText(a.stdout)
			}
			if n := len(res.Alerts()); n > 0 {
				return &exitError{code: ExitAlert, err: fmt.Errorf("%d change(s) match a finding of %s", n, args[1])}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the comparison as JSON (the format of --out) instead of text")
	f.StringVar(&out, "out", "", "write the comparison as JSON to this file")
	f.StringVar(&so.SignKey, "sign-key", "", "sign the --out file with this Ed25519 private key (evidence keygen); passphrase from --passphrase-file, "+EnvKeyPassword+" or a prompt")
	f.StringVar(&so.PassFile, "passphrase-file", "", "read the signing key's passphrase from this file (its first line)")
	return cmd
}
