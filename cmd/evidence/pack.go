package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/spf13/cobra"
)

func (a *app) packCmd() *cobra.Command {
	var (
		out  string
		d    deliverOptions
		auth collect.AuthOptions
	)
	cmd := &cobra.Command{
		Use:   "pack DIR",
		Short: "Verify a sealed bundle directory and pack it into a .tar.zst (and optionally upload it)",
		Long: `pack verifies a sealed bundle directory (every hash, as verify does), then
writes the same deterministic .tar.zst that grab would have written: entries
sorted, owner 0/0, fixed modes, every time set to the collection start from
the manifest, fixed zstd settings. Packing the same bundle twice, on any
machine, gives byte-identical archives. The archive is verified after it is
written. The directory is left in place.

With --blob-url the archive is then uploaded as an immutable blob, read back
and checked, as with grab --bundle tar,blob. The path of the archive is the
last line on stdout.`,
		Example: `  evidence pack evidence-20261125T015600Z-3f2a9c1d -o evidence-20261125T015600Z-3f2a9c1d.tar.zst
  EVIDENCE_BLOB_SAS=... evidence pack ./evidence-20261125T015600Z-3f2a9c1d --blob-url https://acct.blob.core.windows.net/evidence --retain 365d`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d.bundle = "tar"
			if d.blobURL != "" {
				d.bundle = "tar,blob"
			}
			plan, err := d.plan(false)
			if err != nil {
				return err
			}
			dir := filepath.Clean(args[0])
			fi, err := os.Stat(dir)
			if err != nil {
				return usageErr("pack: %v", err)
			}
			if !fi.IsDir() {
				return usageErr("pack: %s is not a bundle directory", dir)
			}
			name := filepath.Base(dir)
			if out == "" {
				out = dir + ".tar.zst"
			}
			if !strings.HasSuffix(out, ".tar.zst") {
				return usageErr("-o %s: the archive's name must end in .tar.zst", out)
			}
			if _, err := os.Lstat(out); err == nil {
				return usageErr("-o %s already exists: an archive is never overwritten", out)
			}
			var store *blob.Store
			if plan.blob {
				var tok collect.TokenSource
				var id string
				if auth.Method != "" && auth.Method != "token" {
					if tok, id, err = collect.Credential(auth); err != nil {
						return usageErr("%v", err)
					}
				}
				if store, err = openStore(plan.target, tok, id, auth.Method); err != nil {
					return err
				}
			}

			res, err := manifest.VerifyDir(dir)
			if err != nil {
				return &exitError{code: ExitVerify, err: fmt.Errorf("pack: %w", err)}
			}
			if !res.OK() {
				return &exitError{code: ExitVerify, err: fmt.Errorf("pack: %s does not verify, so it is not packed: %s", dir, describeProblems(res))}
			}
			m := res.Manifest
			mtime, err := time.Parse(time.RFC3339Nano, m.CollectionStart)
			if err != nil {
				return &exitError{code: ExitVerify, err: fmt.Errorf("pack: manifest collection_start %q is not an RFC 3339 time", m.CollectionStart)}
			}
			outputs := []pipeline.Deliverer{pipeline.Tar{Path: out, KeepDir: true}}
			if store != nil {
				outputs = append(outputs, pipeline.Blob{Store: store, Options: plan.upload, KeepArchive: true})
			}
			sealed := &pipeline.Sealed{Dir: dir, Name: name, Manifest: m, Started: mtime}
			pres, err := pipeline.Deliver(cmd.Context(), pipeline.Plan{Outputs: outputs, Log: a.log, Stderr: a.stderr}, sealed)
			if err != nil {
				return err
			}
			tar := pres.Deliveries[0]
			fmt.Fprintf(a.stderr, "Packed %s: %d files, %d bytes, verified\n  archive SHA-256: %s\n", dir, tar.Verified.Files, tar.Verified.Bytes, tar.SHA256)
			if pres.Incomplete() {
				if !m.Complete {
					fmt.Fprintln(a.stderr, "  note: the manifest records INCOMPLETE collection (exit code 3)")
				}
				a.code = ExitIncomplete
			}
			fmt.Fprintln(a.stdout, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "the archive to write (default DIR.tar.zst); never overwritten")
	blobFlags(f, &d)
	authFlags(f, &auth)
	return cmd
}

// authFlags registers the Entra ID sign-in flags used for blob storage by
// pack and verify (grab shares them with Graph).
func authFlags(f interface {
	StringVar(p *string, name, value, usage string)
}, o *collect.AuthOptions) {
	f.StringVar(&o.Method, "auth", "", "Entra ID sign-in for blob storage when neither "+blob.EnvSAS+" nor "+blob.EnvConnectionString+" is set: "+strings.Join(storageAuthMethods(), ", "))
	f.StringVar(&o.Tenant, "tenant", "", "tenant id or domain")
	f.StringVar(&o.ClientID, "client-id", "", "app registration (or user-assigned managed identity) client id")
	f.StringVar(&o.CertPath, "cert", "", "certificate file for --auth certificate; password from "+collect.EnvCertPassword)
}

// storageAuthMethods are the --auth methods that can sign in to storage
// (a Graph bearer token cannot).
func storageAuthMethods() []string {
	var m []string
	for _, x := range collect.AuthMethods {
		if x != "token" {
			m = append(m, x)
		}
	}
	return m
}
