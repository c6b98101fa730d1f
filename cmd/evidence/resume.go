package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect/ual"
	"github.com/evidence-dfir/evidence/manifest/durable"
	"github.com/spf13/cobra"
)

// A grab that runs an asynchronous source (the unified audit log) keeps its
// resume state in OUT/.NAME.resume/ beside the bundle being written: the
// command line and the collection start (grab.json), and each source's own
// state (the audit log query ids, how far their records were read, the
// spooled records). A grab that is killed or fails leaves it there;
// `evidence grab --resume OUT` runs the same command again with the same
// case id and collection start, re-using what was already done. A sealed
// bundle removes it.

const resumeMeta = "grab.json"

// resumeInfo is grab.json.
type resumeInfo struct {
	Args    []string `json:"args"`    // grab's arguments, without --resume
	Started string   `json:"started"` // collection start, RFC 3339 UTC
	CaseID  string   `json:"case_id"`
}

// resumeDirFor is the resume directory of the bundle name inside out.
func resumeDirFor(out, name string) string { return filepath.Join(out, "."+name+".resume") }

// saveResume writes grab.json once (a resumed run keeps the original).
func saveResume(dir string, args []string, started time.Time, caseID string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("resume state: %w", err)
	}
	p := filepath.Join(dir, resumeMeta)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	b, err := json.MarshalIndent(resumeInfo{Args: args, Started: started.UTC().Format(time.RFC3339Nano), CaseID: caseID}, "", " ")
	if err != nil {
		return err
	}
	return durable.WriteBytes(p, 0o600, durable.Create, b)
}

// findResume locates the resume directory: dir itself, or the single
// .evidence-*.resume directory inside it.
func findResume(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, resumeMeta)); err == nil {
		return dir, nil
	}
	found, _ := filepath.Glob(filepath.Join(dir, ".evidence-*.resume"))
	switch len(found) {
	case 0:
		return "", fmt.Errorf("--resume %s: no interrupted grab to resume there (no .evidence-*.resume directory)", dir)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("--resume %s: several interrupted grabs (%s); name one of them", dir, strings.Join(found, ", "))
}

// resumeOptions rebuilds the interrupted grab's options from its resume
// directory. Credentials and test hooks come from o.
func (a *app) resumeOptions(o *grabOptions) (*grabOptions, error) {
	dir, err := findResume(o.resume)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, resumeMeta))
	if err != nil {
		return nil, usageErr("--resume: %v", err)
	}
	var ri resumeInfo
	if err := json.Unmarshal(b, &ri); err != nil {
		return nil, usageErr("--resume: %s: %v", filepath.Join(dir, resumeMeta), err)
	}
	started, err := time.Parse(time.RFC3339Nano, ri.Started)
	if err != nil {
		return nil, usageErr("--resume: %s: bad start time", filepath.Join(dir, resumeMeta))
	}
	n := &grabOptions{}
	cmd := &cobra.Command{Use: "grab"}
	a.grabFlags(cmd, n)
	if err := cmd.Flags().Parse(ri.Args); err != nil {
		return nil, usageErr("--resume: the saved command line no longer parses: %v", err)
	}
	n.caseID = ri.CaseID
	n.out = filepath.Dir(dir) // wherever the saved --out was relative to
	n.credential, n.now = o.credential, o.now
	n.started = started
	n.resumeDir = dir
	a.log.Info("resuming an interrupted grab", "state", dir, "case", ri.CaseID, "started", ri.Started)
	return n, nil
}

// grabArgs are the arguments to save for a resume: grab's own, without
// --resume, or nil when the command was not grab (demo).
func grabArgsOf(args []string) []string {
	if len(args) < 2 || args[1] != "grab" {
		return nil
	}
	var out []string
	for i := 2; i < len(args); i++ {
		if args[i] == "--resume" {
			i++
			continue
		}
		if strings.HasPrefix(args[i], "--resume=") {
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// removeStalePartial removes the unsealed staging directory a killed run
// left behind, so the resumed run can write the same bundle name.
func removeStalePartial(out, name string) error {
	p := filepath.Join(out, "."+name+".partial")
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return os.RemoveAll(p)
}

// prepareState configures the sources that keep resume state (the unified
// audit log) and creates their state directory beside the bundle; "" when
// no source needs one.
func (a *app) prepareState(o *grabOptions, v *validated, name string, started time.Time) (string, error) {
	var us *ual.Source
	for _, s := range v.sources {
		if u, ok := s.(*ual.Source); ok {
			us = u
		}
	}
	if us == nil {
		if u := o.ual; u.preset != "" || len(u.operations)+len(u.recordTypes)+len(u.services) > 0 || u.keyword != "" {
			return "", usageErr("--preset and --ual-* filters apply to the unified audit log: add ual to --sources")
		}
		return "", nil
	}
	dir := o.resumeDir
	if dir == "" {
		dir = resumeDirFor(o.out, name)
	} else if err := removeStalePartial(o.out, name); err != nil {
		return "", failErr(fmt.Errorf("--resume: removing the interrupted run's unsealed directory: %w", err))
	}
	opt, err := o.ual.options(v.caseID, filepath.Join(dir, "ual"))
	if err != nil {
		return "", usageErr("%v", err)
	}
	us.Opt, us.Log = opt, a.log
	if args := grabArgsOf(a.args); args != nil {
		if err := saveResume(dir, args, started, v.caseID); err != nil {
			return "", failErr(err)
		}
	}
	return dir, nil
}

// stateStarted reports whether a source has saved state in dir.
func stateStarted(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "ual", "ual-state.json"))
	return err == nil
}
