package main

import (
	"errors"
	"fmt"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/manifest"
)

// Exit codes, documented in docs/cli.md. Scripts rely on them: keep them.
const (
	ExitOK         = 0 // complete, sealed and verified
	ExitUsage      = 1 // bad usage or input
	ExitFailed     = 2 // failed: no bundle delivered (one sealed before the failure is kept, and the message names it)
	ExitIncomplete = 3 // sealed, but some source or window could not be collected
	ExitVerify     = 4 // verification failed
	ExitUntrusted  = 5 // intact, but signed by a key outside the trusted keys
	ExitAlert      = 6 // diff/export: a change since the previous bundle matches a finding
)

// verifyExit is the exit code of a verification's result.
func verifyExit(res *manifest.Result) int {
	switch {
	case res.OK():
		return ExitOK
	case res.OnlyUntrusted():
		return ExitUntrusted
	}
	return ExitVerify
}

// exitError carries the exit code for an error that ends the program.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

func failErr(err error) error { return &exitError{code: ExitFailed, err: err} }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var pe *pipeline.Error
	if errors.As(err, &pe) {
		switch pe.Kind {
		case pipeline.Usage:
			return ExitUsage
		case pipeline.Verify:
			return ExitVerify
		}
	}
	return ExitFailed
}
