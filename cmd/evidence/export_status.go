package main

import (
	"os"
	"time"

	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/cobra"
)

func (a *app) exportStatusCmd() *cobra.Command {
	var (
		stateSpec, nowSpec string
		skipBundles        bool
		outDir             string
		trustedKeys        []string
		auth               collect.AuthOptions
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each source's watermark, age and next expiry risk, and verify the bundle index chain",
		Long: `status reads an export's state and prints, for each source and scope, the
watermark (everything before it is sealed in a bundle or recorded as lost),
its age, what the tenant has already deleted and when the oldest data not
yet exported expires; then the number of bundles and the verification of
the hash-chained index, and re-hashes every bundle kept locally; then lists
the bundles on disk that the index does not hold (orphans, in --out and
beside the index's local bundles) and the work files of interrupted runs
that the next run removes.

Exit codes: 0 all well; 3 some source's watermark is already older than
what the tenant keeps (the next run will record a loss); 4 the index chain
is broken, a bundle is missing or changed, or an orphan is on disk. status takes no lock and
changes nothing.`,
		Example: `  evidence export status --state /var/lib/evidence/contoso
  EVIDENCE_BLOB_SAS=... evidence export status --state https://ACCOUNT.blob.core.windows.net/evidence-state/contoso.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now().UTC().Truncate(time.Second)
			if nowSpec != "" {
				t, err := collect.ParseWhen(nowSpec, now)
				if err != nil {
					return usageErr("--now: %v", err)
				}
				now = t.UTC()
			}
			cred, credID, err := stateCredential(stateSpec, nil, auth)
			if err != nil {
				return err
			}
			store, err := openState(stateSpec, cred, credID, auth.Method)
			if err != nil {
				return err
			}
			st, err := state.Load(cmd.Context(), store)
			if err != nil {
				return failErr(err)
			}
			if st == nil {
				return usageErr("no export state in %s yet: run `evidence export --state %s ...` first", store, stateSpec)
			}
			trust, err := seal.LoadTrust(trustedKeys, os.Getenv(seal.EnvTrustedKeys), nil)
			if err != nil {
				return usageErr("%v", err)
			}
			a.code = []int{ExitOK, ExitIncomplete, ExitVerify}[export.WriteStatus(a.stdout, store, st, now, !skipBundles, trust, outDir)]
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&stateSpec, "state", "", "the export's state: a directory, or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX")
	authFlags(f, &auth)
	f.BoolVar(&skipBundles, "skip-bundles", false, "do not re-hash the bundles, only check the index chain")
	f.StringArrayVar(&trustedKeys, "trusted-keys", nil, "allowed_signers file (repeatable; default $"+seal.EnvTrustedKeys+"): every locally kept bundle must be signed by one of its keys")
	f.StringVar(&outDir, "out", "", "the export's --out directory, searched for bundles the index does not hold (beside the directories of its local bundles)")
	f.StringVar(&nowSpec, "now", "", "evaluate ages at this RFC 3339 time instead of now")
	_ = f.MarkHidden("now")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}
