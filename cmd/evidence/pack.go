package main

import (
	"fmt"
	"strings"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/spf13/cobra"
)

func (a *app) packCmd() *cobra.Command {
	var (
		out  string
		d    pipeline.DeliveryFlags
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
			d.Bundle = "tar"
			if d.BlobURL != "" {
				d.Bundle = "tar,blob"
			}
			plan, err := d.Plan(false)
			if err != nil {
				return err
			}
			pk, err := pipeline.CheckPack(pipeline.Pack{Dir: args[0], Out: out, Upload: plan.Upload, Plan: pipeline.Plan{Log: a.log, Stderr: a.stderr}})
			if err != nil {
				return err
			}
			if plan.Blob {
				if pk.Store, err = pipeline.OpenStoreAuth(plan.Target, auth); err != nil {
					return err
				}
			}
			pres, m, err := pipeline.RunPack(cmd.Context(), pk)
			if err != nil {
				return err
			}
			tar := pres.Deliveries[0]
			fmt.Fprintf(a.stderr, "Packed %s: %d files, %d bytes, verified\n  archive SHA-256: %s\n", pk.Dir, tar.Verified.Files, tar.Verified.Bytes, tar.SHA256)
			if pres.Incomplete() {
				if !m.Complete {
					fmt.Fprintln(a.stderr, "  note: the manifest records INCOMPLETE collection (exit code 3)")
				}
				a.code = ExitIncomplete
			}
			pres.Path, pres.Manifest = pk.Out, m
			return a.printResult("pack", pres)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "the archive to write (default DIR.tar.zst); never overwritten")
	a.jsonFlag(f)
	blobFlags(f, &d)
	authFlags(f, &auth)
	return cmd
}

// authFlags registers the Entra ID sign-in flags used for blob storage by
// pack and verify (grab shares them with Graph).
func authFlags(f interface {
	StringVar(p *string, name, value, usage string)
}, o *collect.AuthOptions) {
	f.StringVar(&o.Method, "auth", "", "Entra ID sign-in for blob storage when neither "+blob.EnvSAS+" nor "+blob.EnvConnectionString+" is set: "+strings.Join(collect.StorageAuthMethods(), ", "))
	f.StringVar(&o.Tenant, "tenant", "", "tenant id or domain")
	f.StringVar(&o.ClientID, "client-id", "", "app registration (or user-assigned managed identity) client id")
	f.StringVar(&o.CertPath, "cert", "", "certificate file for --auth certificate; password from "+collect.EnvCertPassword)
}
