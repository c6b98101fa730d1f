package main

import (
	"fmt"
	"strings"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/cobra"
)

func (a *app) custodyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "custody",
		Short: "Record chain-of-custody events for a sealed bundle",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(a.custodyAppendCmd())
	return cmd
}

func (a *app) custodyAppendCmd() *cobra.Command {
	var (
		action, actor, to, from, note string
		details                       []string
		so                            sealOptions
	)
	cmd := &cobra.Command{
		Use:   "append BUNDLE --action ACTION",
		Short: "Append a signed, hash-chained event to a bundle's custody log",
		Long: `append records one event in the custody log of a sealed bundle, chained to
the previous entry by its SHA-256 and signed with --sign-key. No sealed byte
changes: for an archive NAME.tar.zst the log is NAME.custody.jsonl beside it
(started from the log sealed inside the archive when absent); for a bundle
directory it is custody.log.jsonl inside it, which SHA256SUMS does not cover.

The existing log is checked first; a broken log is never extended (exit 4).
Actions: ` + strings.Join(manifest.CustodyActions, ", ") + `.`,
		Example: `  evidence custody append evidence-20261125T015600Z-3f2a9c1d.tar.zst --action transferred --to "SOC team" --note "USB stick 4411, sealed bag 17" --sign-key ~/.evidence/alice.key
  evidence custody append ./evidence-20261125T015600Z-3f2a9c1d --action received --actor "Bob (SOC)" --from "Alice (IR)" --sign-key bob.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ev, err := pipeline.CustodyEvent(action, actor, details, map[string]string{"to": to, "from": from, "note": note})
			if err != nil {
				return err
			}
			so.CustodyOnly = true
			if err := a.loadSigner(&so); err != nil {
				return err
			}
			path, err := pipeline.CustodyLogFor(args[0])
			if err != nil {
				return err
			}
			e, err := seal.AppendCustody(path, ev, so.Signer)
			if err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprintf(a.stderr, "Recorded entry %d (%s by %s) in %s\n", e.Seq, e.Action, e.Actor, path)
			fmt.Fprintln(a.stdout, path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&action, "action", "", "what happened: "+strings.Join(manifest.CustodyActions, ", "))
	f.StringVar(&actor, "actor", "", "who did it (default the OS user)")
	f.StringVar(&to, "to", "", "to whom the bundle went (transferred)")
	f.StringVar(&from, "from", "", "from whom the bundle came (received)")
	f.StringVar(&note, "note", "", "free text: medium, seal numbers, reason")
	f.StringArrayVar(&details, "detail", nil, "more details, KEY=VALUE (repeatable)")
	a.sealFlags(f, &so)
	_ = f.MarkHidden("tsa")
	return cmd
}
