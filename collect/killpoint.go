package collect

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
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

// EnvInterruptAt names a step (STEP or STEP#N, as EnvKillAt) at which the
// process sends itself SIGINT, as a Ctrl-C at that moment would, waits
// until the command has seen it (InterruptSeen), and goes on: the tests of
// Ctrl-C during sealing and upload use it. Never set it outside tests.
const EnvInterruptAt = "EVIDENCE_TEST_INTERRUPT_AT"

// StepPage is the step after each page a log source reads.
const StepPage = "page"

// point is one step named by an environment variable.
type point struct {
	once  sync.Once
	env   string
	step  string
	nth   int
	mu    sync.Mutex
	count int
}

// hit reports whether step is the point's step, at its N-th occurrence.
func (p *point) hit(step string) bool {
	p.once.Do(func() {
		v := os.Getenv(p.env)
		if v == "" {
			return
		}
		s, n, ok := strings.Cut(v, "#")
		p.step, p.nth = s, 1
		if ok {
			if i, err := strconv.Atoi(n); err == nil && i > 0 {
				p.nth = i
			}
		}
	})
	if p.step == "" || step != p.step {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count++
	return p.count == p.nth
}

var (
	killAt      = &point{env: EnvKillAt}
	interruptAt = &point{env: EnvInterruptAt}
	seen        struct {
		mu   sync.Mutex
		done <-chan struct{}
	}
)

// InterruptSeen gives KillPoint the channel that is closed once the
// command has seen a SIGINT (its context's Done), so that a step named
// by EnvInterruptAt goes on only once the signal is in effect.
func InterruptSeen(done <-chan struct{}) {
	seen.mu.Lock()
	seen.done = done
	seen.mu.Unlock()
}

// KillPoint is called after each named step; when EnvKillAt names this
// step (and occurrence) the process is killed on the spot: no deferred
// function, no cleanup, no flushing. When EnvInterruptAt names it, the
// process sends itself SIGINT and waits (a minute at most) until the
// command has seen it.
func KillPoint(step string) {
	if interruptAt.hit(step) {
		interrupt()
	}
	if !killAt.hit(step) {
		return
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill() // SIGKILL
	}
	select {} // never returns: the signal ends the process
}

func interrupt() {
	seen.mu.Lock()
	done := seen.done
	seen.mu.Unlock()
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Signal(os.Interrupt)
	}
	if done != nil {
		select {
		case <-done:
		case <-time.After(time.Minute):
		}
	}
}
