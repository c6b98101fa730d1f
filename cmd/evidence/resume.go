package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect/ual"
	"github.com/spf13/cobra"
)

// Resuming a grab: the resume directory (OUT/.NAME.resume, see
// archive/pipeline/resume.go) holds the interrupted run's command line and
// collection start; --resume runs it again with them.

// resumeOptions rebuilds the interrupted grab's options from its resume
// directory. Credentials and test hooks come from o.
func (a *app) resumeOptions(o *grabOptions) (*grabOptions, error) {
	dir, ri, started, err := pipeline.LoadResume(o.resume)
	if err != nil {
		return nil, err
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
	if us == nil { // its flags without it are refused by pipeline.Scope
		return "", nil
	}
	dir := o.resumeDir
	if dir == "" {
		dir = pipeline.ResumeDirFor(o.out, name)
	} else if err := pipeline.RemoveStalePartial(o.out, name); err != nil {
		return "", failErr(fmt.Errorf("--resume: removing the interrupted run's unsealed directory: %w", err))
	}
	opt, err := o.ual.options(v.caseID, filepath.Join(dir, "ual"))
	if err != nil {
		return "", usageErr("%v", err)
	}
	us.Opt, us.Log = opt, a.log
	if args := pipeline.GrabArgs(a.args); args != nil {
		if err := pipeline.SaveResume(dir, args, started, v.caseID); err != nil {
			return "", failErr(err)
		}
	}
	return dir, nil
}
