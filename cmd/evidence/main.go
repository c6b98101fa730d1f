// Command evidence preserves the evidence of a Microsoft 365 / Entra ID
// account compromise before it expires: it collects logs through Microsoft
// Graph, writes them as Graph sent them, seals them with hashes, bundles them
// and verifies the result.
package main

import (
	"context"
	"fmt"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/spf13/pflag"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/evidence-dfir/evidence/collect/progress"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// buildInfo returns the version, the VCS commit when known, and Go's version.
func buildInfo() (ver, commit, goVersion string) {
	ver, goVersion = version, "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if ver == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			ver = bi.Main.Version
		}
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if commit != "" && modified {
			commit += ", with uncommitted changes"
		}
	}
	return ver, commit, goVersion
}

// versionLine is what `evidence version` and `evidence --version` print.
func versionLine() string {
	v, c, g := buildInfo()
	if c == "" {
		c = "unknown: built without version control information"
	}
	return fmt.Sprintf("evidence %s (commit %s, %s)", v, c, g)
}

// app holds what every command shares: its streams and logger.
type app struct {
	stdout, stderr io.Writer
	log            *slog.Logger
	verbose        bool
	args           []string // the command line, for the manifest
	code           int      // exit code of a command that succeeded (3: sealed but incomplete)
	asJSON         bool     // --json: the result (or the error) as one pipeline.CLIReport on stdout
	progress       progress.Mode
}

// jsonFlag adds --json to a command that writes or verifies a bundle.
func (a *app) jsonFlag(f *pflag.FlagSet) {
	f.BoolVar(&a.asJSON, "json", false, "print the result, or the error, as JSON on stdout (schema "+pipeline.CLIFormat+", docs/cli.md)")
}

// printResult prints what a bundle-writing command made: its path, or the
// --json report.
func (a *app) printResult(command string, r *pipeline.Result) error {
	if a.asJSON {
		return pipeline.CLIResult(command, r, a.code).Write(a.stdout)
	}
	_, err := fmt.Fprintln(a.stdout, r.Path) // r is nil only with nothing written, and then --json alone prints
	return err
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // the first signal stops at a page boundary and seals; a second one ends the process
	collect.InterruptSeen(ctx.Done())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI and returns the exit code; main's only job is to exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, args: append([]string{"evidence"}, args...)}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		code := exitCode(err)
		if cobraUsage(err) {
			code = ExitUsage
		}
		fmt.Fprintln(stderr, "evidence: "+oneLine(err.Error()))
		if a.asJSON {
			c, _, _ := root.Find(args)
			pipeline.CLIFailure(strings.TrimPrefix(c.CommandPath(), "evidence "), err, code, oneLine(err.Error())).Write(stdout)
		}
		return code
	}
	return a.code
}

// cobraUsage recognises cobra's own flag and argument errors (exit 1).
func cobraUsage(err error) bool {
	if exitCode(err) != ExitFailed {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand", "unknown command", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "required flag", "bad flag syntax", "if any flags in the group"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "evidence",
		Short: "Preserve Microsoft 365 / Entra ID compromise evidence before it expires",
		Long: `evidence preserves the evidence of a Microsoft 365 / Entra ID account
compromise before it expires. It collects Entra ID sign-ins (all four kinds)
and directory audits, the Purview unified audit log, Exchange message traces
and a snapshot of the account's persistence through Microsoft Graph, in UTC;
writes every record exactly as Graph returned it; seals the result (SHA-256,
signature, time-stamp, chain of custody) into a bundle with a report for
people; delivers it as a .tar.zst and/or an immutable Azure blob; and
verifies it.

Exit codes: 0 complete and verified, 1 bad usage or input, 2 failed (no
sealed bundle), 3 sealed but incomplete, 4 verification failed.`,
		Example: `  evidence demo
  evidence grab --user alice@contoso.com --since 30d --auth device --tenant contoso.com --client-id APP_ID
  evidence verify evidence-20261125T015600Z-3f2a9c1d.tar.zst`,
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			level := slog.LevelInfo
			if a.verbose {
				level = slog.LevelDebug
			}
			a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: utcTime}))
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "log every retry and wait (debug level)")
	root.PersistentFlags().Var(&a.progress, "progress", "collection progress: auto (a live line per source on a terminal, plain lines otherwise), text, json (events, docs/cli.md) or none")
	root.AddCommand(a.grabCmd(), a.exportCmd(), a.importCmd(), a.packCmd(), a.verifyCmd(), a.diffCmd(), a.reportCmd(), a.keygenCmd(), a.custodyCmd(), a.demoCmd(), a.simCmd(), a.versionCmd())
	registerCompletions(root)
	return root
}

func init() { cobra.EnableCommandSorting = false }

// utcTime makes slog write its timestamps in UTC, RFC 3339.
func utcTime(_ []string, attr slog.Attr) slog.Attr {
	if attr.Key == slog.TimeKey && attr.Value.Kind() == slog.KindTime {
		return slog.String(slog.TimeKey, attr.Value.Time().UTC().Format(time.RFC3339Nano))
	}
	return attr
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(a.stdout, versionLine())
			return nil
		},
	}
}
