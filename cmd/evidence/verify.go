package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/cobra"
)

func (a *app) verifyCmd() *cobra.Command {
	var (
		asJSON bool
		so     verifySealOptions
		auth   collect.AuthOptions
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
			var (
				res *manifest.Result
				rep *pipeline.BlobReport
			)
			opts, err := so.options()
			if err != nil {
				return err
			}
			if isBlobURL(args[0]) {
				res, rep, err = verifyBlob(cmd.Context(), args[0], auth)
			} else {
				res, err = verifyPath(args[0])
			}
			if err != nil {
				return err
			}
			sealed, err := so.check(res, args[0], opts, !isBlobURL(args[0]))
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				out := struct {
					Bundle   string               `json:"bundle"`
					OK       bool                 `json:"ok"`
					Files    int                  `json:"files"`
					Bytes    int64                `json:"bytes"`
					Problems []manifest.Problem   `json:"problems"`
					Seal     *seal.Report         `json:"seal"`
					Blob     *pipeline.BlobReport `json:"blob,omitempty"`
				}{args[0], res.OK(), res.Files, res.Bytes, res.Problems, sealed, rep}
				if out.Problems == nil {
					out.Problems = []manifest.Problem{}
				}
				if err := enc.Encode(out); err != nil {
					return failErr(err)
				}
			} else {
				printResult(a, args[0], res)
				printSeal(a, sealed)
				if rep != nil {
					printBlobReport(a, rep)
				}
			}
			a.code = verifyExit(res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON on stdout")
	so.flags(cmd)
	authFlags(cmd.Flags(), &auth)
	return cmd
}

// verifyPath verifies a bundle directory or .tar.zst archive.
func verifyPath(p string) (*manifest.Result, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, usageErr("verify: %v", err)
	}
	var res *manifest.Result
	if fi.IsDir() {
		res, err = manifest.VerifyDir(p)
	} else {
		res, err = archive.VerifyTarZst(p)
	}
	if err != nil {
		return nil, &exitError{code: ExitVerify, err: err} // the error names the bundle once
	}
	return res, nil
}

func printResult(a *app, p string, res *manifest.Result) {
	w := a.stdout
	if res.OK() {
		fmt.Fprintf(w, "OK %s: %d files, %d bytes, every SHA-256 matches SHA256SUMS and the manifest\n", p, res.Files, res.Bytes)
		if m := res.Manifest; m != nil {
			fmt.Fprintf(w, "   case %s, tenant %s, collected %s by %s\n", m.CaseID, m.Tenant.Domain, m.CollectionStart, m.Examiner)
			if !m.Complete {
				fmt.Fprintln(w, "   note: the bundle is intact but its manifest records INCOMPLETE collection")
			}
		}
		return
	}
	fmt.Fprintf(w, "FAILED %s: %d problem(s)\n", p, len(res.Problems))
	for _, pr := range res.Problems {
		line := fmt.Sprintf("  %-12s %s", pr.Kind, pr.Path)
		if pr.Detail != "" {
			line += ": " + pr.Detail
		}
		fmt.Fprintln(w, line)
	}
}
