package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"golang.org/x/term"
)

// progress shows running counts: a self-updating line on a terminal, plain
// log lines every few seconds otherwise.
type progress struct {
	w      io.Writer
	log    *slog.Logger
	tty    bool
	client *collect.Client

	mu      sync.Mutex
	source  string
	records int
	pages   int
	start   time.Time
	last    time.Time
	done    chan struct{}
	once    sync.Once
}

func newProgress(w io.Writer, log *slog.Logger) *progress {
	p := &progress{w: w, log: log, start: time.Now(), last: time.Now(), done: make(chan struct{})}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		go p.loop()
	}
	return p
}

// Add implements collect.Progress.
func (p *progress) Add(source string, records, pages int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if source != p.source {
		p.source, p.records, p.pages, p.start = source, 0, 0, time.Now()
	}
	p.records += records
	p.pages += pages
	if !p.tty && time.Since(p.last) >= 5*time.Second {
		p.last = time.Now()
		p.log.Info("progress", "source", p.source, "records", p.records, "pages", p.pages, "records_per_s", p.rate())
	}
}

func (p *progress) rate() string {
	s := time.Since(p.start).Seconds()
	if s <= 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f", float64(p.records)/s)
}

func (p *progress) line() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	waits := ""
	if p.client != nil {
		d, n := p.client.ThrottleWait()
		waits = fmt.Sprintf(", %d throttle waits (%.1fs), %d retries", n, d.Seconds(), p.client.Stats().Retries.Load())
	}
	return fmt.Sprintf("%s: %d records, %d pages, %s records/s%s", p.source, p.records, p.pages, p.rate(), waits)
}

func (p *progress) loop() {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			fmt.Fprintf(p.w, "\r\033[K%s", p.line())
		}
	}
}

// SetClient lets the line show the client's throttle waits and retries.
func (p *progress) SetClient(c *collect.Client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.client = c
}

// Flush ends the current terminal line so log lines start clean.
func (p *progress) Flush() {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K")
	}
}

func (p *progress) stop() {
	p.once.Do(func() {
		close(p.done)
		p.Flush()
	})
}
