package pipeline

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// CLIFormat names the schema every --json output follows (docs/cli.md,
// "--json"). Fields are only ever added.
const CLIFormat = "evidence-cli/1"

// CLIReport is what grab, import, pack, export, export status and verify print with --json: one
// object on stdout, for a success and for an error alike.
type CLIReport struct {
	Format   string    `json:"format"`
	Command  string    `json:"command"`
	ExitCode int       `json:"exit_code"`
	OK       bool      `json:"ok"` // exit code 0
	Error    *CLIError `json:"error,omitempty"`

	Bundle   string             `json:"bundle,omitempty"` // the path (or blob URL) written or verified
	SHA256   string             `json:"sha256,omitempty"` // the archive's (or the directory's content hash)
	Case     string             `json:"case,omitempty"`
	Tenant   *manifest.Tenant   `json:"tenant,omitempty"`
	Window   *manifest.Window   `json:"window,omitempty"`   // what was asked, [start, end)
	Complete *bool              `json:"complete,omitempty"` // the manifest's completeness
	Partial  *manifest.Partial  `json:"partial,omitempty"`  // a partial bundle: why it stopped, what is unfinished
	Sources  []CLISource        `json:"sources,omitempty"`
	Files    int                `json:"files"` // verified, with every SHA-256 matching (when Problems is empty)
	Bytes    int64              `json:"bytes"`
	Problems []manifest.Problem `json:"problems"`
	Seal     *seal.Report       `json:"seal,omitempty"`
	Blob     *BlobReport        `json:"blob,omitempty"`
	Status   any                `json:"status,omitempty"` // export status: archive/export.StatusReport
}

// CLISource is one source of the manifest, as the summary prints it.
type CLISource struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Records int64  `json:"records"`
	Pages   int64  `json:"pages"`
	Reason  string `json:"reason,omitempty"`
}

// CLIError is a command's failure: the one line it printed, the kind of a
// sign-in or network problem (collect.Explain) when it is one.
type CLIError struct {
	Message string `json:"message"`
	Kind    string `json:"kind,omitempty"`
}

func newCLIReport(command string, exit int) *CLIReport {
	return &CLIReport{Format: CLIFormat, Command: command, ExitCode: exit, OK: exit == 0, Problems: []manifest.Problem{}}
}

// withManifest fills the case, tenant, window, completeness and sources.
func (c *CLIReport) withManifest(m *manifest.Manifest) {
	if m == nil {
		return
	}
	c.Case, c.Tenant, c.Window, c.Partial = m.CaseID, &m.Tenant, &m.Requested, m.Partial
	complete := m.Complete
	c.Complete = &complete
	for _, s := range m.Sources {
		c.Sources = append(c.Sources, CLISource{Name: s.Name, Status: s.Status, Records: s.Records, Pages: s.Pages, Reason: s.Reason})
	}
}

// CLIResult is the --json report of a run that wrote a bundle (grab,
// import, pack, export), with its exit code; r is nil when there was
// nothing to write (an export with nothing new).
func CLIResult(command string, r *Result, exit int) *CLIReport {
	c := newCLIReport(command, exit)
	if r == nil {
		return c
	}
	c.Bundle, c.SHA256 = r.Path, r.SHA256
	c.withManifest(r.Manifest)
	if v := r.Verified; v != nil {
		c.Files, c.Bytes = v.Files, v.Bytes
		if v.Problems != nil {
			c.Problems = v.Problems
		}
	}
	return c
}

// CLIFailure is the --json report of a command that failed with err.
func CLIFailure(command string, err error, exit int, line string) *CLIReport {
	c := newCLIReport(command, exit)
	c.Error = &CLIError{Message: line}
	var p *collect.Problem
	if errors.As(err, &p) {
		c.Error.Kind = p.Kind
	}
	return c
}

// Write prints c, indented, on w.
func (c *CLIReport) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}
