package collect

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// EnvKillAt names a step at which the process kills itself with SIGKILL,
// as `kill -9` would, so that the crash-point tests can stop a real
// process at every named step (a page read, a resume state written, the
// pipeline's Step constants, export's steps) and check what the next run
// makes of what is left. The value is
// STEP, or STEP#N for the N-th time the step is reached. It is read only by
// KillPoint; nothing else in the tool looks at it. Never set it outside
// tests.
const EnvKillAt = "EVIDENCE_TEST_KILL_AT"

// StepPage is the step after each page a log source reads.
const StepPage = "page"

var killAt struct {
	once  sync.Once
	step  string
	nth   int
	mu    sync.Mutex
	count int
}

// KillPoint is called after each named step; when EnvKillAt names this
// step (and occurrence) the process is killed on the spot: no deferred
// function, no cleanup, no flushing.
func KillPoint(step string) {
	killAt.once.Do(func() {
		v := os.Getenv(EnvKillAt)
		if v == "" {
			return
		}
		s, n, ok := strings.Cut(v, "#")
		killAt.step, killAt.nth = s, 1
		if ok {
			if i, err := strconv.Atoi(n); err == nil && i > 0 {
				killAt.nth = i
			}
		}
	})
	if killAt.step == "" || step != killAt.step {
		return
	}
	killAt.mu.Lock()
	killAt.count++
	hit := killAt.count == killAt.nth
	killAt.mu.Unlock()
	if !hit {
		return
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill() // SIGKILL
	}
	select {} // never returns: the signal ends the process
}
