package main

import (
	"io"

	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/cobra"
)

func (a *app) exportStatusCmd() *cobra.Command {
	var o export.StatusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each source's watermark, age and next expiry risk, and verify the bundle index chain",
		Long: `status reads an export's state and prints, for each source and scope, the
watermark (everything before it is sealed in a bundle or recorded as lost),
its age, what the tenant has already deleted and when the oldest data not
yet exported expires; then the number of bundles and the verification of
the hash-chained index, and re-hashes every bundle kept locally; then lists
the bundles on disk that the index does not hold (orphans, in --out and
beside the index's local bundles, and with --blob-url under the export's
blob URL), the bundles a run moved into quarantine/, and the work files of
interrupted runs that the next run removes.

Exit codes: 0 all well; 3 some source's watermark is already older than
what the tenant keeps (the next run will record a loss); 4 the index chain
is broken, a bundle is missing or changed, an orphan is on disk or in the
blob container (or the container cannot be listed) or a bundle is in
quarantine. status takes no lock and
changes nothing.`,
		Example: `  evidence export status --state /var/lib/evidence/contoso
  EVIDENCE_BLOB_SAS=... evidence export status --state https://ACCOUNT.blob.core.windows.net/evidence-state/contoso.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := a.stdout
			if a.asJSON {
				w = io.Discard // the same facts, as JSON below
			}
			r, err := o.Report(cmd.Context(), w)
			if err != nil {
				return exportErr(err)
			}
			a.code = []int{ExitOK, ExitIncomplete, ExitVerify}[r.Health()]
			if a.asJSON {
				c := pipeline.CLIResult("export status", nil, a.code)
				c.Status = r
				return c.Write(a.stdout)
			}
			return nil
		},
	}
	f := cmd.Flags()
	a.jsonFlag(f)
	f.StringVar(&o.State, "state", "", "the export's state: a directory, or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX")
	authFlags(f, &o.Auth)
	f.BoolVar(&o.SkipBundles, "skip-bundles", false, "do not re-hash the bundles, only check the index chain")
	f.StringArrayVar(&o.TrustedKeys, "trusted-keys", nil, "allowed_signers file (repeatable; default $"+seal.EnvTrustedKeys+"): every locally kept bundle must be signed by one of its keys")
	f.StringVar(&o.Out, "out", "", "the export's --out directory, searched for bundles the index does not hold (beside the directories of its local bundles)")
	f.StringVar(&o.BlobURL, "blob-url", "", "the export's --blob-url, listed for bundles the index does not hold (the storage credential needs the List permission)")
	f.StringVar(&o.Now, "now", "", "evaluate ages at this RFC 3339 time instead of now")
	_ = f.MarkHidden("now")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}
