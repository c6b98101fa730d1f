package main

import (
	"fmt"
	"strings"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/archive/report"
	"github.com/spf13/cobra"
)

// langFlagHelp documents --lang for every command that writes the page.
var langFlagHelp = "language of report.html: " + strings.Join(report.Languages, " or ") + " (default from LC_ALL, LC_MESSAGES or LANG; English otherwise)"

// reportLang checks --lang and applies the default.
func reportLang(lang string) (string, error) { return pipeline.ReportLang(lang) }

func (a *app) reportCmd() *cobra.Command {
	var out, lang string
	cmd := &cobra.Command{
		Use:   "report BUNDLE",
		Short: "Render report.html again from a bundle (directory or .tar.zst), without changing it",
		Long: `report verifies a bundle, reads its manifest and record files once (streaming,
in bounded memory) and writes the handoff page: the case, what is complete
and what is missing, a timeline of sign-ins, audits, unified audit log
operations and message traces with the events a responder looks for
highlighted, sign-ins by IP, country and app, the snapshot's findings, and
how to verify the bundle. The page loads nothing from the network.

The bundle is only read. The page is written to -o (default
NAME.report.html in the current directory, NAME.report.ja.html in Japanese,
so one language never overwrites the other; "-" for stdout) and its path is
printed on stdout. A bundle that does not verify still gets a page, with the
problems at the top, and the exit code is 4.`,
		Example: `  evidence report evidence-20261125T015600Z-3f2a9c1d.tar.zst
  evidence report --lang ja -o /cases/42/report-ja.html ./evidence-20261125T015600Z-3f2a9c1d`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lang, err := reportLang(lang)
			if err != nil {
				return err
			}
			defer report.LimitMemory()()
			return a.report(args[0], out, lang)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", `file to write ("-" for stdout); default NAME.report.html (NAME.report.ja.html for --lang ja) in the current directory`)
	cmd.Flags().StringVar(&lang, "lang", "", langFlagHelp)
	return cmd
}

// report renders the page of the bundle at p into out.
func (a *app) report(p, out, lang string) error {
	path, res, err := pipeline.RenderReport(p, out, lang, "evidence "+tool().Version, a.stdout)
	if err != nil {
		return err
	}
	if path != "" {
		fmt.Fprintln(a.stdout, path)
	}
	if !res.OK() {
		fmt.Fprintf(a.stderr, "evidence: the bundle does not verify: %s (the page says so at the top)\n", pipeline.DescribeProblems(res))
		a.code = ExitVerify
	}
	return nil
}
