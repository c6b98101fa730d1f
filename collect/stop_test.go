package collect_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/evidence-dfir/evidence/collect"
)

// TestStopReason: each fatal error is named for what stopped the run, through
// the wrapping the collectors add.
func TestStopReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind string
	}{
		{fmt.Errorf("signins page 3: %w", context.Canceled), collect.StopInterrupted},
		{&collect.FatalError{Err: &collect.GraphError{Status: 401, Code: "InvalidAuthenticationToken"}}, collect.StopCredentials},
		{&collect.FatalError{Err: fmt.Errorf("writing record: %w", &fs.PathError{Op: "write", Path: "x.jsonl", Err: syscall.ENOSPC})}, collect.StopDiskFull},
		{errors.New("something else"), collect.StopFatal},
	} {
		kind, reason := collect.StopReason(tc.err)
		if kind != tc.kind || !strings.HasPrefix(reason, tc.kind) || !strings.Contains(reason, "grab --resume") {
			t.Errorf("%v: %q %q, want kind %q and a reason naming the resume", tc.err, kind, reason, tc.kind)
		}
	}
}
