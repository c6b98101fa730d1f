package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// Exchange Online message trace limits, from the Graph reference (see
// docs/sources.md): a receivedDateTime filter needs both bounds, spans at
// most 10 days, starts at most 90 days before the service's current date and
// ends no later than it; pages hold at most 5,000 rows.
const (
	MessageTraceMaxAge   = 90 * 24 * time.Hour
	MessageTraceMaxSlice = 10 * 24 * time.Hour
	MessageTraceMaxTop   = 5000
	// MessageTraceAppID is Microsoft's message trace application: the tenant
	// needs a service principal for it before either call answers.
	MessageTraceAppID = "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373"
	// MessageTraceFix is the command that creates that service principal.
	MessageTraceFix = `Connect-MgGraph -Scopes "Application.ReadWrite.All"; New-MgServicePrincipal -AppId ` + MessageTraceAppID
)

// Bundle paths of the message trace files.
const (
	MessageTracePath        = "messagetrace/traces.jsonl"
	MessageTraceDetailsPath = "messagetrace/details.jsonl"
)

// MessageTrace collects Exchange Online message traces from v1.0
// /admin/exchange/tracing/messageTraces: for each user, the mail they sent
// and received (senderAddress eq and recipientAddress eq, for the primary
// SMTP address and every smtp: proxy address), or the whole tenant's.
//
// One message to several recipients is one row per recipient sharing the
// trace id, so rows are de-duplicated by (id, recipientAddress), never by id.
type MessageTrace struct {
	// Details fetches getDetailsByRecipient for the traces of interest
	// (sent to a domain outside the tenant's verified domains), at most one
	// throttling-budget window of calls per run.
	Details bool
}

// Name implements Source.
func (MessageTrace) Name() string { return "messagetrace" }

// MessageTraceFlags are the source's option values as a command line gives
// them (Setup.Options["messagetrace"]).
type MessageTraceFlags struct {
	Details bool // --trace-details
}

// mtQuery is one message trace list query: a slice, a scope, a direction.
type mtScope struct {
	user      User
	addr      string // "" for the tenant-wide query
	direction string // "sender" or "recipient"
}

func (s mtScope) clause() string {
	if s.addr == "" {
		return ""
	}
	return " and " + s.direction + "Address eq " + ODataString(s.addr)
}

func (s mtScope) label() string {
	if s.addr == "" {
		return ""
	}
	return s.user.ID + " " + s.direction + "Address=" + s.addr
}

// interest is a row whose delivery details are wanted.
type interest struct{ id, recipient string }

// mtRun is the state of one collection.
type mtRun struct {
	c        *Client
	job      Job
	src      *manifest.Source
	sink     *ScopedSink
	base     string
	top      int
	domains  map[string]bool // the tenant's verified domains, lower case
	addrs    map[string]bool // the requested users' addresses, lower case
	clock    time.Time       // the service's clock (Date header of the pre-flight)
	clockAt  time.Time       // local time it was read
	seen     map[string]bool // (id, recipient) of the current slice
	returned int64
	dups     int64
	edge     int64 // rows at the whole-second edges of a query that lie outside its slice
	wanted   []interest
	wantSeen map[string]bool
	lastErr  error // of the last query, for the 90-day edge retry
}

// Collect implements Source.
func (m MessageTrace) Collect(ctx context.Context, c *Client, job Job, out Output) (manifest.Source, error) {
	r := &mtRun{c: c, job: job, base: c.BaseURL("v1.0") + "/admin/exchange/tracing/messageTraces",
		top: pageSize(job.PageSize, MessageTraceMaxTop), addrs: map[string]bool{}, wantSeen: map[string]bool{}}
	src := manifest.Source{Name: m.Name(), Endpoint: "GET " + r.base, Status: manifest.StatusCollected,
		Query:  "$filter=receivedDateTime ge <slice start, whole seconds> and receivedDateTime le <slice end, whole seconds; rows at the end belong to the next slice> and senderAddress|recipientAddress eq '<address>' (slices of at most 10 days, oldest first)",
		Counts: map[string]int64{}}
	r.src = &src
	for _, u := range job.Users {
		for _, a := range MailAddresses(u) {
			r.addrs[strings.ToLower(a)] = true
		}
	}
	domains, err := r.tenantDomains(ctx)
	if err != nil {
		return src, err
	}
	r.domains = domains
	inner, err := out.Open(MessageTracePath, m.Name(), r.columns())
	if err != nil {
		return src, &FatalError{Err: err}
	}
	r.sink = NewScopedSink(out, MessageTracePath, m.Name(), r.columns(), inner)
	src.Files = []string{MessageTracePath, CSVPath(MessageTracePath)}

	if ok, err := r.preflight(ctx); err != nil || !ok {
		return src, err
	}
	// Stopped or not, the source accounts for every record it wrote.
	done := func(err error) (manifest.Source, error) {
		r.summarize()
		r.sink.Account(&src)
		return src, err
	}
	for _, sl := range r.slices() {
		if err := r.collectSlice(ctx, sl); err != nil {
			return done(err)
		}
	}
	if m.Details {
		if err := r.details(ctx, out); err != nil {
			return done(err)
		}
	}
	return done(nil)
}

// MailAddresses returns a user's SMTP addresses: the primary (mail) first,
// then every smtp: proxy address, without repeats; the UPN when the user has
// no mail address at all.
func MailAddresses(u User) []string {
	var out []string
	seen := map[string]bool{}
	add := func(a string) {
		a = strings.TrimSpace(a)
		if a != "" && !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			out = append(out, a)
		}
	}
	add(u.Mail)
	for _, p := range u.ProxyAddresses {
		if len(p) > 5 && strings.EqualFold(p[:5], "smtp:") {
			add(p[5:])
		}
	}
	if len(out) == 0 {
		add(u.UPN)
	}
	return out
}

// tenantDomains reads the verified domains, which decide what "external"
// means for --trace-details and the tenant-wide direction column.
func (r *mtRun) tenantDomains(ctx context.Context) (map[string]bool, error) {
	body, err := r.c.GetJSON(ctx, ClassDirectory, r.src.Name, r.c.BaseURL("v1.0")+"/organization?$select=verifiedDomains")
	if err != nil {
		if _, _, fatal := Classify(err); fatal {
			return nil, &FatalError{Err: fmt.Errorf("messagetrace: reading the verified domains: %w", err)}
		}
		// Without them, the requested users' own domains stand in.
		d := map[string]bool{}
		for a := range r.addrs {
			d[domainOf(a)] = true
		}
		r.c.log.Warn("messagetrace: verified domains unreadable; the users' own mail domains count as internal", "err", err)
		return d, nil
	}
	var org struct {
		Value []struct {
			VerifiedDomains []struct {
				Name string `json:"name"`
			} `json:"verifiedDomains"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &org); err != nil {
		return nil, &FatalError{Err: fmt.Errorf("messagetrace: reading the verified domains: %w", err)}
	}
	d := map[string]bool{}
	for _, o := range org.Value {
		for _, v := range o.VerifiedDomains {
			d[strings.ToLower(v.Name)] = true
		}
	}
	return d, nil
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(strings.ToLower(addr), "@")
	return d
}

// IsMissingTraceSP reports whether err is the service's answer for a tenant
// without the message trace app's service principal: 401 (or 403) naming
// the app id or a missing service principal.
func IsMissingTraceSP(err error) bool {
	var ge *GraphError
	if !errors.As(err, &ge) || (ge.Status != http.StatusUnauthorized && ge.Status != http.StatusForbidden) {
		return false
	}
	msg := strings.ToLower(ge.Message)
	return strings.Contains(msg, MessageTraceAppID) || strings.Contains(msg, "service principal")
}

// classify maps a message trace error to a status and reason, recognising
// the missing service principal (a 401 that is not a credential problem) and
// naming the permission on a 403.
func (r *mtRun) classify(err error) (status, reason string, fatal bool) {
	var ge *GraphError
	switch {
	case IsMissingTraceSP(err):
		return manifest.StatusUnavailable, "prerequisite: the tenant has no service principal for Microsoft's message trace app " + MessageTraceAppID +
			" (" + err.Error() + "); an administrator creates it with: " + MessageTraceFix + " (provisioning can take several hours)", false
	case errors.As(err, &ge) && ge.Status == http.StatusForbidden:
		return manifest.StatusUnavailable, "permission: message trace needs ExchangeMessageTrace.Read.All (" + err.Error() + ")", false
	}
	return Classify(err)
}

// preflight sends one small query without a filter (the service answers the
// last 48 hours): it proves the prerequisite and permission before any
// slicing, and reads the service's clock, against which the 90-day limit is
// judged. Its rows are not evidence and are not written.
func (r *mtRun) preflight(ctx context.Context) (bool, error) {
	resp, err := r.c.Do(ctx, Request{Class: ClassMessageTrace, Source: r.src.Name, URL: r.base + "?$top=1"}, func(body []byte) (int, error) {
		p, err := ParsePage(body)
		if err != nil {
			return 0, err
		}
		return len(p.Records), nil
	})
	if err != nil {
		status, reason, fatal := r.classify(err)
		if fatal {
			return false, &FatalError{Err: err}
		}
		r.src.Status, r.src.Reason = status, reason
		r.src.Missing = append(r.src.Missing, manifest.Gap{Window: manifest.NewWindow(r.job.Window.Start, r.job.Window.End), Status: status, Reason: reason})
		return false, nil
	}
	r.clockAt = time.Now()
	r.clock = r.clockAt.UTC()
	if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		r.clock = t.UTC()
	}
	return true, nil
}

// mtSlice is one window of at most 10 days.
type mtSlice struct {
	w       Window
	atLimit bool // starts at the 90-day limit: the service may judge it older as its clock moves
}

// slices clamps the requested window to what the API accepts at the
// service's clock, records what was cut, and splits the rest into slices of
// at most 10 days, oldest first (the oldest is the one about to expire).
func (r *mtRun) slices() []mtSlice {
	// Bounds go out in whole seconds: the limit is rounded up, the clock down.
	limit := ceilSecond(r.clock.Add(-MessageTraceMaxAge))
	clock := r.clock.Truncate(time.Second)
	kept, lost := r.job.Window.Clamp(limit)
	if !lost.Empty() {
		r.gap(lost, "", manifest.StatusClamped, fmt.Sprintf("older than message trace's 90-day limit (the service's clock read %s, so the oldest start it accepts is %s)",
			FormatTime(r.clock), FormatTime(limit)))
	}
	if kept.End.After(clock) && kept.Start.Before(kept.End) {
		late := Window{Start: maxTime(kept.Start, clock), End: kept.End}
		r.gap(late, "", manifest.StatusClamped, fmt.Sprintf("later than the service's clock (%s): message trace refuses an end in the future", FormatTime(clock)))
		kept.End = late.Start
	}
	var out []mtSlice
	for s := kept.Start; s.Before(kept.End); {
		// A slice is at most 10 days from its whole-second lower bound, so
		// its rounded-up upper bound is too.
		e := s.Truncate(time.Second).Add(MessageTraceMaxSlice)
		if e.After(kept.End) {
			e = kept.End
		}
		out = append(out, mtSlice{w: Window{Start: s, End: e}, atLimit: len(out) == 0 && s.Sub(limit) < 2*time.Minute})
		s = e
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (r *mtRun) gap(w Window, scope, status, reason string) {
	r.src.Missing = append(r.src.Missing, manifest.Gap{Window: manifest.NewWindow(w.Start, w.End), Scope: scope, Status: status, Reason: reason})
}

// scopes lists the queries of one slice: per user, per address, sender
// then recipient; or one tenant-wide query.
func (r *mtRun) scopes() []mtScope {
	if r.job.AllUsers || len(r.job.Users) == 0 {
		return []mtScope{{}}
	}
	var out []mtScope
	for _, u := range r.job.Users {
		for _, a := range MailAddresses(u) {
			out = append(out, mtScope{user: u, addr: a, direction: "sender"}, mtScope{user: u, addr: a, direction: "recipient"})
		}
	}
	return out
}

func (r *mtRun) collectSlice(ctx context.Context, sl mtSlice) error {
	r.seen = map[string]bool{}
	orig := sl.w.Start
	moved := ""
	for _, sc := range r.scopes() {
		w := sl.w
		for attempt := 0; ; attempt++ {
			sw, err := r.query(ctx, w, sc)
			if err != nil {
				// What the query wrote before it stopped stays accounted, in
				// a window not collected.
				_, reason, _ := Classify(err)
				sw.Status, sw.Reason = manifest.StatusFailed, reason
				r.src.Windows = append(r.src.Windows, sw)
				return err
			}
			var ge *GraphError
			if sw.Status != manifest.StatusCollected && sl.atLimit && attempt == 0 && errors.As(r.lastErr, &ge) && ge.Status == http.StatusBadRequest {
				// The service's clock moved past the 90-day limit since it was
				// read: move the start to where the limit stands now, plus a
				// minute, and ask again; later queries of the slice start there.
				now := r.clock.Add(time.Since(r.clockAt)).Add(time.Second)
				start := ceilSecond(now.Add(-MessageTraceMaxAge).Add(time.Minute))
				if start.After(w.Start) && start.Before(w.End) {
					moved = fmt.Sprintf("the service refused the 90-day edge once its clock had moved on (%s), so the slice was asked again from %s", ge.Error(), FormatTime(start))
					w.Start, sl.w.Start = start, start
					continue
				}
			}
			if w.Start.After(orig) {
				r.gap(Window{Start: orig, End: w.Start}, sc.label(), manifest.StatusClamped, "older than message trace's 90-day limit: "+moved)
			}
			r.src.Windows = append(r.src.Windows, sw)
			if sw.Status == manifest.StatusUnavailable {
				return nil
			}
			break
		}
	}
	return nil
}

// query pages through one list query, writing every row not seen before in
// this slice.
func (r *mtRun) query(ctx context.Context, w Window, sc mtScope) (manifest.SubWindow, error) {
	filter := mtRange(w) + sc.clause()
	u := r.base + "?$filter=" + QueryEscape(filter) + "&$top=" + strconv.Itoa(r.top)
	sw := manifest.SubWindow{Window: manifest.NewWindow(w.Start, w.End), Scope: sc.label(), Query: filter, Status: manifest.StatusCollected}
	r.lastErr = nil
	// What the query asks: the closed whole-second interval, and the address.
	asked := &Scope{Window: Window{Start: w.Start.Truncate(time.Second), End: ceilSecond(w.End)}, TimeProp: "receivedDateTime", Inclusive: true}
	if sc.addr != "" {
		asked.Require = []Cond{{What: "address " + sc.addr, Paths: []string{sc.direction + "Address"}, Values: []string{sc.addr}}}
	}
	r.sink.SetScope(asked)
	var werr error
	pages, err := r.c.Pages(ctx, ClassMessageTrace, r.src.Name, u, func(n int, p *Page) error {
		written, edge, outside := 0, 0, 0
		for _, rec := range p.Records {
			g := gjson.ParseBytes(rec)
			if asked.Outside(rec) != "" {
				// Not what was asked: kept apart by the sink, counted there.
				if err := r.sink.Write(rec); err != nil {
					werr = &FatalError{Err: fmt.Errorf("%s: writing record: %w", r.src.Name, err)}
					return werr
				}
				outside++
				continue
			}
			if t, err := time.Parse(time.RFC3339Nano, g.Get("receivedDateTime").String()); err == nil && (t.Before(w.Start) || !t.Before(w.End)) {
				// Asked for because the bounds are whole seconds; the row
				// belongs to the neighbouring slice (which asks for it too)
				// or lies outside the requested window, so the window does
				// not count it.
				edge++
				continue
			}
			id, rcpt := g.Get("id").String(), g.Get("recipientAddress").String()
			key := strings.ToLower(id) + "\x00" + strings.ToLower(rcpt)
			if sc.addr != "" {
				if r.seen[key] {
					r.dups++
					continue
				}
				r.seen[key] = true
			}
			if err := r.sink.Write(rec); err != nil {
				werr = &FatalError{Err: fmt.Errorf("%s: writing record: %w", r.src.Name, err)}
				return werr
			}
			written++
			r.noteInterest(id, g.Get("senderAddress").String(), rcpt)
		}
		sw.Records += int64(len(p.Records) - edge)
		r.edge += int64(edge)
		r.returned += int64(len(p.Records))
		r.src.Records += int64(written + outside) // the sink's Account takes the outside ones off
		if r.job.Progress != nil {
			r.job.Progress.Add(r.src.Name, written, 1)
		}
		return nil
	})
	sw.Pages = int64(pages)
	if werr != nil {
		return sw, werr
	}
	if err != nil {
		r.lastErr = err
		status, reason, fatal := r.classify(err)
		if fatal {
			return sw, &FatalError{Err: err}
		}
		sw.Status, sw.Reason = status, reason
	}
	return sw, nil
}

// noteInterest remembers a row sent from inside the tenant (from a requested
// user, when users were given) to a domain outside it.
func (r *mtRun) noteInterest(id, sender, rcpt string) {
	if r.domains[domainOf(rcpt)] {
		return
	}
	if len(r.addrs) > 0 && !r.job.AllUsers {
		if !r.addrs[strings.ToLower(sender)] {
			return
		}
	} else if !r.domains[domainOf(sender)] {
		return
	}
	key := strings.ToLower(id) + "\x00" + strings.ToLower(rcpt)
	if !r.wantSeen[key] {
		r.wantSeen[key] = true
		r.wanted = append(r.wanted, interest{id: id, recipient: rcpt})
	}
}

// details fetches getDetailsByRecipient for the traces of interest, at most
// one budget window of calls (100 at the documented budget), and says in
// the manifest how many were fetched and how many skipped.
func (r *mtRun) details(ctx context.Context, out Output) error {
	var recipient string // the recipient of the call whose records are being written
	cols := append(append([]Column(nil), TraceDetailColumns...), Func("Recipient", func(gjson.Result) string { return recipient }))
	// The details are a second record set: tagged with their own source name
	// so the manifest's per-source record counts stay checkable.
	sink, err := out.Open(MessageTraceDetailsPath, r.src.Name+".details", cols)
	if err != nil {
		return &FatalError{Err: err}
	}
	r.src.Files = append(r.src.Files, MessageTraceDetailsPath, CSVPath(MessageTraceDetailsPath))
	limit := len(r.wanted)
	if l := r.c.limiters[ClassMessageTrace]; l != nil && !l.budget.Unlimited() {
		limit = min(limit, l.budget.Requests)
	}
	if r.src.Status != manifest.StatusCollected && r.src.Status != "" {
		limit = 0 // the list itself was refused
	}
	var fetched, failed, records int64
	for _, in := range r.wanted[:limit] {
		u := r.base + "/" + url.PathEscape(in.id) + "/getDetailsByRecipient(recipientAddress=" + url.PathEscape(ODataString(in.recipient)) + ")"
		recipient = in.recipient
		var werr error
		_, err := r.c.Pages(ctx, ClassMessageTrace, r.src.Name+".details", u, func(n int, p *Page) error {
			for _, rec := range p.Records {
				if err := sink.Write(rec); err != nil {
					werr = &FatalError{Err: fmt.Errorf("%s: writing record: %w", r.src.Name, err)}
					return werr
				}
			}
			records += int64(len(p.Records))
			return nil
		})
		if werr != nil {
			return werr
		}
		if err != nil {
			status, reason, fatal := r.classify(err)
			if fatal {
				return &FatalError{Err: err}
			}
			failed++
			r.gap(r.job.Window, "details "+in.id+" "+in.recipient, status, "trace details: "+reason)
			continue
		}
		fetched++
	}
	skipped := int64(len(r.wanted) - limit)
	r.src.Counts["details_of_interest"] = int64(len(r.wanted))
	r.src.Counts["details_fetched"] = fetched
	r.src.Counts["details_failed"] = failed
	r.src.Counts["details_skipped_budget"] = skipped
	r.src.Counts["details_records"] = records
	if skipped > 0 {
		r.gap(r.job.Window, "details", manifest.StatusFailed, fmt.Sprintf(
			"trace details: %d of %d traces of interest (sent outside the tenant's verified domains) skipped to stay within the message trace budget: at most %d details calls, one budget window, per run",
			skipped, len(r.wanted), limit))
	}
	return nil
}

// summarize sets the source's status from its windows and gaps.
func (r *mtRun) summarize() {
	s := r.src
	s.Counts["rows_returned"] = r.returned
	if r.edge > 0 {
		s.Counts["rows_outside_slice_edge"] = r.edge
	}
	s.Duplicates = r.dups
	s.Summarize()
}

// mtRange is the receivedDateTime clause covering the half-open window w
// in the documented form, YYYY-MM-DDThh:mm:ssZ: no fraction digits. Both
// bounds are inclusive (ge, le), so the lower bound is w.Start rounded down
// and the upper bound w.End rounded up to a whole second; the rows this
// returns outside [w.Start, w.End) (at most the fraction of a second before
// the start, and rows at exactly the end, which the next slice asks for
// too) are dropped by the caller and counted, so no row is lost or written
// twice.
func mtRange(w Window) string {
	const form = "2006-01-02T15:04:05Z"
	return "receivedDateTime ge " + w.Start.UTC().Truncate(time.Second).Format(form) +
		" and receivedDateTime le " + ceilSecond(w.End).UTC().Format(form)
}

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if f := t.Truncate(time.Second); !f.Equal(t) {
		return f.Add(time.Second)
	}
	return t
}

// columns are the trace CSV columns, like the Exchange admin center's
// message trace export, plus the direction that matched: for users, "sent",
// "received" or "sent+received" (relative to the requested users'
// addresses); tenant-wide, "outbound", "inbound", "internal" or "external"
// (relative to the verified domains).
func (r *mtRun) columns() []Column {
	dir := func(get Getter) string {
		s, rc := strings.ToLower(get("senderAddress").String()), strings.ToLower(get("recipientAddress").String())
		if len(r.addrs) > 0 && !r.job.AllUsers {
			switch {
			case r.addrs[s] && r.addrs[rc]:
				return "sent+received"
			case r.addrs[s]:
				return "sent"
			case r.addrs[rc]:
				return "received"
			}
			return ""
		}
		si, ri := r.domains[domainOf(s)], r.domains[domainOf(rc)]
		switch {
		case si && ri:
			return "internal"
		case si:
			return "outbound"
		case ri:
			return "inbound"
		}
		return "external"
	}
	return append(append([]Column(nil), TraceColumns...), Lookup("Direction", dir), Str("MessageTraceId", "id"))
}

// TraceColumns follow the Exchange admin center's message trace export.
var TraceColumns = []Column{
	Time("Received (UTC)", "receivedDateTime"),
	Str("Sender", "senderAddress"),
	Str("Recipient", "recipientAddress"),
	Str("Subject", "subject"),
	Str("Status", "status"),
	Str("Size", "size"),
	Str("MessageId", "messageId"),
	Str("FromIP", "fromIP"),
	Str("ToIP", "toIP"),
}

// TraceDetailColumns are the getDetailsByRecipient CSV columns; the CSV adds
// the recipient the call was made for, which the records do not repeat.
var TraceDetailColumns = []Column{
	Time("Date (UTC)", "dateTime"),
	Str("Event", "event"),
	Str("Action", "action"),
	Str("Detail", "description"),
	Str("MessageTraceId", "id"),
	Str("MessageId", "messageId"),
	Str("Data", "data"),
}
