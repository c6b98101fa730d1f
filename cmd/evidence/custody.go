package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/evidence-dfir/evidence/archive"
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
		Example: `  evidence custody append evidence-2026-11-25T01:56:00Z-3f2a9c1d.tar.zst --action transferred --to "SOC team" --note "USB stick 4411, sealed bag 17" --sign-key ~/.evidence/alice.key
  evidence custody append ./evidence-2026-11-25T01:56:00Z-3f2a9c1d --action received --actor "Bob (SOC)" --from "Alice (IR)" --sign-key bob.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if action == "" {
				return usageErr("custody append: --action is required (one of %s)", strings.Join(manifest.CustodyActions, ", "))
			}
			d := map[string]string{}
			for _, kv := range details {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageErr("--detail %q: want KEY=VALUE", kv)
				}
				d[k] = v
			}
			for k, v := range map[string]string{"to": to, "from": from, "note": note} {
				if v != "" {
					d[k] = v
				}
			}
			if len(d) == 0 {
				d = nil
			}
			if actor == "" {
				actor = osUser()
			}
			if err := a.loadSigner(&so); err != nil {
				return err
			}
			path, err := prepareCustodyLog(args[0])
			if err != nil {
				return err
			}
			e, err := seal.AppendCustody(path, manifest.CustodyEvent{Actor: actor, Host: hostname(), Action: action, Details: d}, so.signer)
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

// prepareCustodyLog returns the custody log to append to for the bundle at
// p, after checking that the log is intact and bound to the bundle's seal.
// For an archive whose log beside it is absent, the log is started from the
// one sealed inside the archive.
func prepareCustodyLog(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", usageErr("custody: %v", err)
	}
	var sums, inner []byte
	switch {
	case fi.IsDir():
		if sums, err = os.ReadFile(filepath.Join(p, manifest.SumsName)); err != nil {
			return "", usageErr("custody: %s is not a sealed bundle: %v", p, err)
		}
		if inner, err = os.ReadFile(filepath.Join(p, manifest.CustodyLogName)); err != nil {
			return "", usageErr("custody: %s has no custody log: %v", p, err)
		}
	case strings.HasSuffix(p, manifest.ArchiveSuffix):
		if sums, inner, err = readArchiveSeal(p); err != nil {
			return "", &exitError{code: ExitVerify, err: err}
		}
	default:
		return "", usageErr("custody: %s is neither a bundle directory nor a %s archive", p, manifest.ArchiveSuffix)
	}
	path := manifest.CustodyPathFor(p)
	log, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !fi.IsDir():
		if inner == nil {
			return "", &exitError{code: ExitVerify, err: fmt.Errorf("custody: %s holds no %s to continue", p, manifest.CustodyLogName)}
		}
		if err := seal.ContinueCustody(path, inner); err != nil {
			return "", failErr(err)
		}
		return path, nil
	case err != nil:
		return "", failErr(fmt.Errorf("custody: %w", err))
	}
	if fi.IsDir() {
		inner = nil // the log is the one inside
	}
	c := seal.VerifyCustody(filepath.Base(path), log, inner, sums, nil)
	if len(c.Problems) > 0 {
		return "", &exitError{code: ExitVerify, err: fmt.Errorf("custody log %s is broken, not extending it: %s", path, c.Problems[0].Detail)}
	}
	return path, nil
}

// readArchiveSeal reads SHA256SUMS and the custody log out of an archive.
func readArchiveSeal(p string) (sums, custody []byte, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	err = archive.Walk(f, func(name string, r io.Reader) error {
		var dst *[]byte
		switch name {
		case manifest.SumsName:
			dst = &sums
		case manifest.CustodyLogName:
			dst = &custody
		default:
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(r, 64<<20))
		*dst = b
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("custody: %w", err)
	}
	if sums == nil {
		return nil, nil, fmt.Errorf("custody: %s holds no %s", p, manifest.SumsName)
	}
	return sums, custody, nil
}
