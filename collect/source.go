package collect

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/manifest"
)

// User is a user the collection is scoped to, resolved once in the tenant.
// Queries filter by ID, so a renamed UPN cannot hide records.
type User struct {
	Requested      string   // as given on the command line
	ID             string   // object id
	UPN            string   // userPrincipalName at collection time
	Mail           string   // primary SMTP address
	ProxyAddresses []string // "SMTP:..." / "smtp:..." entries
}

// Job is what one collection run asks every source for.
type Job struct {
	Window   Window // requested half-open window
	Users    []User // empty when AllUsers
	AllUsers bool
	Now      time.Time // collection start
	PageSize int       // $top; 0 -> the source's documented maximum
	Progress Progress  // nil -> none

	// Split cuts the window into sub-windows; nil -> DefaultSplitting.
	Split *Splitting
	// Facts is what the licence probe learned (licence, retention, service
	// clock); nil when no probe ran: nothing is clamped.
	Facts *TenantFacts
}

func (j Job) splitting() Splitting {
	if j.Split == nil {
		return DefaultSplitting
	}
	return *j.Split
}

// Progress receives running counts, for the terminal progress line.
type Progress interface {
	Add(source string, records, pages int)
}

// Reporter is what a progress display may accept beyond the counts: the
// estimate from a query's first page, the sub-windows done, and what a
// source is waiting for. Collectors use it when their Progress has it.
type Reporter interface {
	Progress
	Estimated(source string, e Estimate)
	Windows(source string, done, total int)
	Waiting(source, reason string, d time.Duration)
}

// What a source can be waiting for (Reporter.Waiting's reason).
const (
	WaitBudget     = "throttling budget"
	WaitRetryAfter = "Retry-After"
	WaitRetry      = "retry after an error"
	WaitQuery      = "audit query running"
)

// ReportWait tells p, when it is a Reporter, that source waits d for reason.
func ReportWait(p Progress, source, reason string, d time.Duration) {
	if r, ok := p.(Reporter); ok {
		r.Waiting(source, reason, d)
	}
}

// ReportWindows tells p, when it is a Reporter, how many of source's
// sub-windows are done.
func ReportWindows(p Progress, source string, done, total int) {
	if r, ok := p.(Reporter); ok {
		r.Windows(source, done, total)
	}
}

// ReportEstimate tells p, when it is a Reporter, source's estimate.
func ReportEstimate(p Progress, source string, e Estimate) {
	if r, ok := p.(Reporter); ok {
		r.Estimated(source, e)
	}
}

// Sink receives one source's records, each the raw JSON bytes Graph sent
// (compacted), in the order Graph returned them.
type Sink = record.Sink

// Output opens record files inside the bundle being written. path is
// relative to the bundle root and names the JSON Lines file; the CSV view
// goes beside it with the same base name.
type Output interface {
	Open(path, source string, columns []Column) (Sink, error)
}

// Source collects one kind of evidence. Collect returns the accounting of
// what it asked and what came back; an error means the whole run must stop
// (credentials refused, cancellation, a write failure). Everything else (a
// licence refusal, a window that kept failing) is recorded in the returned
// manifest.Source and the run goes on.
type Source interface {
	Name() string
	Collect(ctx context.Context, c *Client, job Job, out Output) (manifest.Source, error)
}

// FatalError stops a run: nothing more can be collected.
type FatalError struct{ Err error }

// Error implements error.
func (e *FatalError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *FatalError) Unwrap() error { return e.Err }

// Why a run stopped before it finished (StopReason), as the manifest's
// partial.reason and each window's reason begin.
const (
	StopInterrupted = "interrupted"         // Ctrl-C, SIGINT or SIGTERM
	StopCredentials = "credentials refused" // 401: the token expired or was revoked
	StopDiskFull    = "disk full"           // no space left while writing
	StopFatal       = "fatal error"         // any other error that ends the run
)

// StopReason says why err ended a run: one of the Stop constants, and the
// reason to record on the windows it left uncollected.
func StopReason(err error) (kind, reason string) {
	var ge *GraphError
	switch {
	case errors.Is(err, context.Canceled):
		return StopInterrupted, StopInterrupted + ": the collection was stopped (Ctrl-C, SIGINT or SIGTERM) before this window was read; `evidence grab --resume` collects it"
	case errors.As(err, &ge) && (ge.Status == 401 || ge.Code == "credential"):
		return StopCredentials, StopCredentials + " before this window was read: " + ge.Error() + "; `evidence grab --resume` with a new token collects it"
	case errors.Is(err, syscall.ENOSPC):
		return StopDiskFull, StopDiskFull + " before this window was written; free space and `evidence grab --resume` collects it"
	}
	return StopFatal, StopFatal + " before this window was read: " + err.Error() + "; `evidence grab --resume` collects it"
}

// Graph error codes the collectors recognise.
const (
	CodeNoPremium = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
)

// Classify maps a collection error to a window status and reason. fatal is
// true for errors that end the run (bad credentials, cancellation).
func Classify(err error) (status, reason string, fatal bool) {
	var ge *GraphError
	var gu *GaveUpError
	var fe *FatalError
	switch {
	case errors.As(err, &fe):
		return manifest.StatusFailed, err.Error(), true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return manifest.StatusFailed, "cancelled: " + err.Error(), true
	case errors.As(err, &ge):
		switch {
		case ge.Status == 401 || ge.Code == "credential":
			return manifest.StatusFailed, "credentials refused: " + ge.Error(), true
		case ge.Status == 403 && ge.Code == CodeNoPremium:
			return manifest.StatusUnavailable, "licence: tenant has no Entra ID P1/P2, so sign-in logs cannot be read through Graph (" + ge.Code + ")", false
		case ge.Status == 403:
			return manifest.StatusUnavailable, "permission: " + ge.Error(), false
		default:
			return manifest.StatusFailed, ge.Error(), false
		}
	case errors.As(err, &gu):
		if gu.Throttled {
			return manifest.StatusFailed, "throttling budget: " + gu.Error(), false
		}
		return manifest.StatusFailed, gu.Error(), false
	default:
		return manifest.StatusFailed, err.Error(), false
	}
}

// query is one OData collection query over one window and scope.
type query struct {
	class, source string
	url           string
	window        Window
	scope         string
	filter        string
}

// run pages through q, writing every record to sink, and returns the
// sub-window's accounting. Only fatal errors are returned as errors.
func (q query) run(ctx context.Context, c *Client, sink Sink, prog Progress) (manifest.SubWindow, error) {
	sw := manifest.SubWindow{Window: manifest.NewWindow(q.window.Start, q.window.End), Scope: q.scope, Query: q.filter, Status: manifest.StatusCollected}
	var werr error
	pages, err := c.Pages(ctx, q.class, q.source, q.url, func(n int, p *Page) error {
		for _, r := range p.Records {
			if err := sink.Write(r); err != nil {
				werr = &FatalError{Err: fmt.Errorf("%s: writing record: %w", q.source, err)}
				return werr
			}
		}
		sw.Records += int64(len(p.Records))
		if prog != nil {
			prog.Add(q.source, len(p.Records), 1)
		}
		return nil
	})
	sw.Pages = int64(pages)
	if werr != nil {
		return sw, werr
	}
	if err != nil {
		status, reason, fatal := Classify(err)
		if fatal {
			return sw, &FatalError{Err: err}
		}
		sw.Status, sw.Reason = status, reason
	}
	return sw, nil
}
