package tenant

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/catalog"
	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// Part is one request of a read-only, part-by-part source (or one request
// per parent object, see Parts.PerObject): its records go to Dir/Name.jsonl
// with a CSV view beside it.
type Part struct {
	Name     string // file base name, e.g. "conditional-access-policies"
	Endpoint string // catalogue id, for the fix a refusal names
	URL      string // absolute; unused by PerObject
	Single   bool   // one object, not a collection
	Class    string // throttling class; "" is collect.ClassDirectory
	Cols     []collect.Column
	// OnRecord sees each record written, with its pointer.
	OnRecord func(p snapshot.Pointer, rec gjson.Result)
	// OnChild is OnRecord for a per-object part, with the parent's id.
	OnChild func(parent string, p snapshot.Pointer, rec gjson.Result)
	// Others, when set, names the file for the records the request returns
	// that are not about the subject (Outside says why): they are written
	// there, byte-exact, and accounted in a window of their own, never mixed
	// with the subject's.
	Others  string
	Outside func(rec gjson.Result) string
}

// Parts runs the parts of one source and keeps its manifest entry: one
// window per part, a refused part recorded with Graph's answer and the fix.
type Parts struct {
	c      *collect.Client
	job    collect.Job
	out    collect.Output
	base   string
	source string
	dir    string
	src    manifest.Source
	sinks  map[string]*sink
	others map[string]int64  // records written to a part's Others file, by part
	why    map[string]string // the first reason a record went there, by part
	// notChecked hears of every part or object not collected.
	notChecked func(check, reason string)
}

type sink struct {
	w     collect.Sink
	lines int64
}

// NewParts starts the manifest entry of source, whose files go in dir.
// notChecked (may be nil) hears of every part or object not collected.
func NewParts(c *collect.Client, job collect.Job, out collect.Output, source, dir, query string, notChecked func(check, reason string)) *Parts {
	if notChecked == nil {
		notChecked = func(string, string) {}
	}
	return &Parts{c: c, job: job, out: out, base: c.BaseURL("v1.0"), source: source, dir: dir, sinks: map[string]*sink{},
		others: map[string]int64{}, why: map[string]string{}, notChecked: notChecked,
		src: manifest.Source{Name: source, Endpoint: "GET " + c.BaseURL("v1.0") + " (one query per part: windows[].query)", Query: query}}
}

// Base is the v1.0 service root URLs are built on.
func (r *Parts) Base() string { return r.base }

// File is the bundle path of a part's JSON Lines file.
func (r *Parts) File(name string) string { return r.dir + "/" + name + ".jsonl" }

// Source is the manifest entry so far.
func (r *Parts) Source() *manifest.Source { return &r.src }

// Finish completes the manifest entry: totals, status and reason, files
// (extra ones, such as findings, included) and the records kept apart. A
// source stopped part way returns Finish() too, so that every record its
// parts wrote is accounted.
func (r *Parts) Finish(extra ...string) manifest.Source {
	r.src.Summarize()
	bad := 0
	for _, w := range r.src.Windows {
		if w.Status != manifest.StatusCollected {
			bad++
		}
	}
	if bad > 0 {
		r.src.Reason = fmt.Sprintf("%d of %d parts not collected; see windows[].reason", bad, len(r.src.Windows))
	}
	for p := range r.sinks {
		r.src.Files = append(r.src.Files, p, collect.CSVPath(p))
	}
	r.src.Files = append(r.src.Files, extra...)
	sort.Strings(r.src.Files)
	return r.src
}

// Fetch runs one part and records its window. Only errors that end the
// run are returned.
func (r *Parts) Fetch(ctx context.Context, p Part) error {
	started := time.Now().UTC()
	sw := manifest.SubWindow{Scope: "tenant", Query: p.Name + ": GET " + strings.TrimPrefix(collect.RedactURL(p.URL), r.base),
		Status: manifest.StatusCollected}
	n, pages, err := r.get(ctx, p, p.URL, nil)
	sw.Records, sw.Pages = n-r.others[p.Name], pages
	sw.Window = manifest.NewWindow(started, time.Now().UTC())
	if p.Others != "" && p.Outside != nil && (err == nil || r.others[p.Name] > 0) {
		defer func() {
			o := manifest.SubWindow{Window: sw.Window, Scope: "not the subject", Status: sw.Status, Records: r.others[p.Name],
				Query: p.Others + ": the records of " + p.Name + "'s request that are not about the subject, kept apart"}
			if w := r.why[p.Name]; w != "" {
				o.Reason = "first: " + w
			}
			if sw.Status != manifest.StatusCollected {
				o.Reason = sw.Reason
			}
			r.src.Windows = append(r.src.Windows, o)
		}()
	}
	if err != nil {
		status, reason, ferr := refusal(p, err)
		if ferr != nil {
			// stopped: what the part wrote stays accounted, in a window not collected
			_, why, _ := collect.Classify(err)
			sw.Status, sw.Reason = manifest.StatusFailed, why
			r.src.Windows = append(r.src.Windows, sw)
			return ferr
		}
		sw.Status, sw.Reason = status, reason
		r.notChecked(p.Name, reason)
	}
	r.src.Windows = append(r.src.Windows, sw)
	return nil
}

// PerObject runs one request per parent object (a domain's federation, an
// app's owners) into one file, the parent's id in the CSV note "parent".
// The part is one window; a parent whose request failed gets its own
// window, scoped to its id, with the reason. from names the part the
// parents came from: when it was not collected, nothing is asked and the
// window says why.
func (r *Parts) PerObject(ctx context.Context, p Part, from string, parents []string, url func(id string) string) error {
	started := time.Now().UTC()
	tmpl := strings.TrimPrefix(collect.RedactURL(url("{id}")), r.base)
	sw := manifest.SubWindow{Scope: "tenant", Query: fmt.Sprintf("%s: GET %s for each of %d objects", p.Name, tmpl, len(parents)),
		Status: manifest.StatusCollected}
	if why := r.NotCollected(from); why != "" {
		sw.Status, sw.Window = manifest.StatusUnavailable, manifest.NewWindow(started, started)
		sw.Reason = "not asked: it needs the ids from the part " + from + ", which was not collected (" + why + ")"
		r.src.Windows = append(r.src.Windows, sw)
		r.notChecked(p.Name, sw.Reason)
		return nil
	}
	if len(parents) > 0 {
		if _, err := r.sink(p); err != nil { // every asked part has its file, even when empty
			return err
		}
	}
	var failed []manifest.SubWindow
	for _, id := range parents {
		t0 := time.Now().UTC()
		n, pages, err := r.get(ctx, p, url(id), map[string]string{"parent": id})
		sw.Records += n
		sw.Pages += pages
		if err == nil {
			continue
		}
		status, reason, ferr := refusal(p, err)
		if ferr != nil {
			// stopped: what the part wrote stays accounted, in a window not collected
			_, why, _ := collect.Classify(err)
			sw.Status, sw.Reason, sw.Window = manifest.StatusFailed, why, manifest.NewWindow(started, time.Now().UTC())
			r.src.Windows = append(r.src.Windows, sw)
			r.src.Windows = append(r.src.Windows, failed...)
			return ferr
		}
		failed = append(failed, manifest.SubWindow{Scope: id, Query: p.Name + ": GET " + strings.TrimPrefix(collect.RedactURL(url(id)), r.base),
			Status: status, Reason: reason, Records: n, Pages: pages, Window: manifest.NewWindow(t0, time.Now().UTC())})
		r.notChecked(p.Name+" "+id, reason)
	}
	sw.Window = manifest.NewWindow(started, time.Now().UTC())
	if len(failed) > 0 {
		sw.Reason = fmt.Sprintf("%d of %d objects not collected; see the windows of this part with their id as scope", len(failed), len(parents))
	}
	r.src.Windows = append(r.src.Windows, sw)
	r.src.Windows = append(r.src.Windows, failed...)
	return nil
}

// NotCollected returns the reason the part named name was not collected,
// or "" when it was.
func (r *Parts) NotCollected(name string) string {
	for _, w := range r.src.Windows {
		if strings.HasPrefix(w.Query, name+": ") && w.Status != manifest.StatusCollected {
			return w.Reason
		}
	}
	return ""
}

// get reads one URL (one object or every page of a collection) into the
// part's file and returns the records and pages read.
func (r *Parts) get(ctx context.Context, p Part, u string, notes map[string]string) (int64, int64, error) {
	var n int64
	write := func(rec []byte) error {
		s, err := r.sink(p)
		if err != nil {
			return err
		}
		rec, _ = snapshot.ScrubSecrets(rec)
		n++
		parsed := gjson.ParseBytes(rec)
		if p.Outside != nil && p.Others != "" {
			if why := p.Outside(parsed); why != "" {
				return r.outside(p, rec, why)
			}
		}
		if ns, ok := s.w.(record.NotedSink); ok && notes != nil {
			err = ns.WriteNoted(rec, notes)
		} else {
			err = s.w.Write(rec)
		}
		if err != nil {
			return &collect.FatalError{Err: fmt.Errorf("%s: writing %s: %w", r.source, r.File(p.Name), err)}
		}
		s.lines++
		if p.OnRecord != nil || p.OnChild != nil {
			sum := sha256.Sum256(rec)
			ptr := snapshot.Pointer{File: r.File(p.Name), Line: s.lines, ID: parsed.Get("id").String(), SHA256: hex.EncodeToString(sum[:])}
			if p.OnRecord != nil {
				p.OnRecord(ptr, parsed)
			} else {
				p.OnChild(notes["parent"], ptr, parsed)
			}
		}
		return nil
	}
	class := p.Class
	if class == "" {
		class = collect.ClassDirectory
	}
	if p.Single {
		body, err := r.c.GetJSON(ctx, class, r.source, u)
		if err != nil {
			return 0, 0, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, body); err != nil {
			return 0, 1, fmt.Errorf("answer is not valid JSON: %w", err)
		}
		return 1, 1, write(buf.Bytes())
	}
	pages, err := r.c.Pages(ctx, class, r.source, u, func(_ int, pg *collect.Page) error {
		if _, err := r.sink(p); err != nil {
			return err
		}
		for _, rec := range pg.Records {
			if err := write(rec); err != nil {
				return err
			}
		}
		if r.job.Progress != nil {
			r.job.Progress.Add(r.source, len(pg.Records), 1)
		}
		return nil
	})
	return n, int64(pages), err
}

// outside writes a record that is not about the subject to the part's
// Others file.
func (r *Parts) outside(p Part, rec []byte, why string) error {
	s, err := r.sink(Part{Name: p.Others, Cols: p.Cols})
	if err != nil {
		return err
	}
	if r.others[p.Name] == 0 {
		r.why[p.Name] = why
	}
	r.others[p.Name]++
	if err := s.w.Write(rec); err != nil {
		return &collect.FatalError{Err: fmt.Errorf("%s: writing %s: %w", r.source, r.File(p.Others), err)}
	}
	s.lines++
	return nil
}

// sink opens the part's file on first use, so a refused part leaves no
// empty file that could be read as "nothing there".
func (r *Parts) sink(p Part) (*sink, error) {
	path := r.File(p.Name)
	if s := r.sinks[path]; s != nil {
		return s, nil
	}
	w, err := r.out.Open(path, r.source, p.Cols)
	if err != nil {
		return nil, &collect.FatalError{Err: fmt.Errorf("%s: %w", r.source, err)}
	}
	s := &sink{w: w}
	r.sinks[path] = s
	return s, nil
}

// refusal classifies a part's error: a window status and reason, or the
// error that ends the run.
func refusal(p Part, err error) (status, reason string, fatal error) {
	var fe *collect.FatalError
	if errors.As(err, &fe) {
		return "", "", err
	}
	status, reason, stop := classify(p.Endpoint, err)
	if stop {
		return "", "", &collect.FatalError{Err: err}
	}
	return status, reason, nil
}

// Classify is collect.Classify with reasons that name what would fix a
// refusal of the catalogue entry endpoint: its permissions and role, or
// its licence.
func Classify(endpoint string, err error) (status, reason string, fatal bool) {
	return classify(endpoint, err)
}

// classify is collect.Classify with reasons that name what would fix a
// refusal: the endpoint's permissions and role from the catalogue, or the
// licence.
func classify(endpoint string, err error) (status, reason string, fatal bool) {
	status, reason, fatal = collect.Classify(err)
	var ge *collect.GraphError
	if fatal || !errors.As(err, &ge) {
		return status, reason, fatal
	}
	e := catalog.ByID(endpoint)
	fix := ""
	if e != nil {
		fix = "; fix: grant " + e.Application + " (application) or " + e.Delegated + " (delegated)"
		if e.Role != "" {
			fix += " with the role " + e.Role
		}
	}
	switch {
	case ge.Status == 403 && (ge.Code == "AadPremiumLicenseRequired" || ge.Code == collect.CodeNoPremium ||
		strings.Contains(strings.ToLower(ge.Message), "not onboarded")): // Defender XDR: the tenant is not onboarded
		lic := ""
		if e != nil {
			lic = e.Licence
		}
		return manifest.StatusUnavailable, "licence: the tenant lacks " + lic + " (" + ge.Error() + "); fix: license the tenant, nothing to grant", false
	case ge.Status == 403:
		return manifest.StatusUnavailable, "permission: " + ge.Error() + fix, false
	case ge.Status == 404 || ge.Status == 501:
		return manifest.StatusUnavailable, "not available in this tenant or cloud: " + ge.Error() +
			"; fix: check that the feature is enabled and that the request is documented for this cloud", false
	}
	return status, reason, fatal
}
