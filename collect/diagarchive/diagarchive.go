// Package diagarchive preserves the copies of Microsoft Entra logs that a
// tenant's diagnostic settings archive to an Azure storage account: one
// container per log category (insights-logs-signinlogs, ...), one append
// blob per hour at tenantId=<tenant>/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json,
// each a JSON Lines file of resource-log records
// (https://learn.microsoft.com/azure/azure-monitor/essentials/resource-logs-blob-format).
// These copies often reach far beyond Entra's 7 or 30 days.
//
// For the asked window it lists each container by prefix (one listing per
// day: the day's hourly blobs), copies every blob of an hour that overlaps
// the window into the bundle byte for byte (streamed, never held in
// memory), and records in diagarchive/index.jsonl each blob's name, size,
// ETag, Content-MD5 and last-modified time with the MD5 and SHA-256 of the
// bytes read. Where the service gives a Content-MD5 it is checked: a
// mismatch means the blob changed after its MD5 was recorded, and the hour
// is reported. An hour of the window without a blob is reported as not
// collected, with its exact window. For a per-user grab the lines whose
// identity fields name the user are also written to
// diagarchive/<container>.subject.jsonl (and its CSV view), a filtered
// copy beside the untouched originals, accounted as such in the manifest.
package diagarchive

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // the storage service's Content-MD5 is MD5; it is compared, not trusted for integrity
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/manifest"
)

// Name is the source's name in --sources and the manifest.
const Name = "diagarchive"

// Files of the source in the bundle.
const (
	Dir       = "diagarchive"             // the blobs, under <container>/<blob name>
	IndexPath = "diagarchive/index.jsonl" // one line per blob copied
	// IndexSource and SubjectSource name, in files[].source, the index
	// and the filtered subject files, so neither is taken for an original.
	IndexSource   = Name + ".index"
	SubjectSource = Name + ".subject"
)

// EnvSAS is the environment variable that may hold a SAS (read and list)
// for the archive account; without it the Entra ID credential is used.
const EnvSAS = "EVIDENCE_DIAG_ARCHIVE_SAS"

// Fix is what a refusal's reason says to do.
const Fix = "grant the identity the Azure role Storage Blob Data Reader on the storage account (or the container), or give a SAS with read and list permissions in " + EnvSAS

// Options configure the collector.
type Options struct {
	// Service is the blob service endpoint: https://ACCOUNT.blob.core.windows.net,
	// or an emulator's path-style http://127.0.0.1:PORT/ACCOUNT (loopback only).
	Service    string
	Credential azcore.TokenCredential // Entra ID sign-in (token audience https://storage.azure.com)
	SAS        string                 // a SAS query string instead of the credential (from EnvSAS)
	// Containers to read; default every container of Categories. A
	// container asked for by name that does not exist is a gap; one of
	// the defaults is noted (the tenant does not archive that category).
	Containers []string
	Transport  policy.Transporter
	Log        *slog.Logger
}

// ParseService checks an archive account URL: https, or http on a
// loopback address (an emulator); no query string (a SAS comes from the
// environment only), no user information, no container.
func ParseService(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", errors.New("not a URL: want https://ACCOUNT.blob.core.windows.net")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("%s://%s%s carries a query string: a SAS is read only from the environment (%s), never from a flag", u.Scheme, u.Host, u.Path, EnvSAS)
	}
	if u.User != nil {
		return "", errors.New("the URL carries user information: credentials come from the environment or the sign-in")
	}
	loop := false
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() || u.Hostname() == "localhost" {
		loop = true
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loop:
	default:
		return "", fmt.Errorf("%s://%s: the storage account is read over https (plain http only on loopback, for an emulator)", u.Scheme, u.Host)
	}
	p := strings.Trim(u.Path, "/")
	if loop {
		if p == "" || strings.Contains(p, "/") {
			return "", fmt.Errorf("%s: an emulator's URL is path-style, http://127.0.0.1:PORT/ACCOUNT", raw)
		}
	} else if p != "" {
		return "", fmt.Errorf("%s: give the account's blob endpoint only (https://ACCOUNT.blob.core.windows.net), not a container or path", raw)
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+"/"+p, "/"), nil
}

// RawOutput is the side of the bundle that takes files as bytes (the
// blobs, the index); the bundle stage implements it.
type RawOutput interface {
	Create(rel, source, media string) (io.Writer, error)
}

// Source is the diagnostic-settings archive collector.
type Source struct {
	Opt   Options
	warns []string
}

// Name implements collect.Source.
func (s *Source) Name() string { return Name }

// Warnings are the notes of the last Collect for the manifest.
func (s *Source) Warnings() []string { return s.warns }

func (s *Source) warn(format string, a ...any) {
	s.warns = append(s.warns, Name+": "+fmt.Sprintf(format, a...))
}

// IndexEntry is one line of diagarchive/index.jsonl: a blob as the service
// described it and as it was read.
type IndexEntry struct {
	Container    string `json:"container"`
	Blob         string `json:"blob"`
	Path         string `json:"path"` // in the bundle
	Hour         string `json:"hour"` // the hour the blob holds, UTC
	Size         int64  `json:"size"`
	ETag         string `json:"etag"`
	LastModified string `json:"last_modified"`
	BlobType     string `json:"blob_type,omitempty"`
	ContentMD5   string `json:"content_md5,omitempty"` // base64, as the service gives it; absent for append blobs
	MD5          string `json:"md5"`                   // base64, of the bytes read
	MD5Check     string `json:"md5_check"`             // match, MISMATCH, or none given
	SHA256       string `json:"sha256"`
	Lines        int64  `json:"lines"`
	SubjectLines int64  `json:"subject_lines,omitempty"`
	// Error says the copy at Path is partial (the read failed): the hour
	// is a gap.
	Error string `json:"error,omitempty"`
}

// MD5 check outcomes in the index.
const (
	MD5Match    = "match"
	MD5Mismatch = "MISMATCH"
	MD5None     = "none given"
)

// blobName is the layout the diagnostic setting writes: the hour's blob,
// and PT1H_<n>.json when one hour outgrows an append blob.
var blobName = regexp.MustCompile(`^(tenantId=[^/]+)/y=(\d{4})/m=(\d{2})/d=(\d{2})/h=(\d{2})/m=00/PT1H(_\d+)?\.json$`)

// Collect implements collect.Source. The Graph client c, when given, only
// logs the storage requests in requests.jsonl.
func (s *Source) Collect(ctx context.Context, c *collect.Client, job collect.Job, out collect.Output) (manifest.Source, error) {
	o := s.Opt
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s.warns = nil
	src := manifest.Source{Name: Name, Endpoint: "GET " + o.Service + "/{container}?restype=container&comp=list; GET " + o.Service + "/{container}/{blob}",
		Status: manifest.StatusCollected, Windows: []manifest.SubWindow{}}
	raw, ok := out.(RawOutput)
	if !ok {
		return src, &collect.FatalError{Err: errors.New("diagarchive: the bundle cannot take raw files")}
	}
	if o.Service == "" {
		return src, &collect.FatalError{Err: errors.New("diagarchive: no storage account (--diag-archive)")}
	}
	if o.Credential == nil && o.SAS == "" {
		return src, &collect.FatalError{Err: errors.New("diagarchive: no credential")}
	}
	cats := Categories
	explicit := len(o.Containers) > 0
	if explicit {
		cats = nil
		for _, n := range o.Containers {
			cat, ok := LookupContainer(n)
			if !ok {
				return src, &collect.FatalError{Err: fmt.Errorf("diagarchive: unknown container %q (known: %s)", n, strings.Join(ContainerNames(), ", "))}
			}
			cats = append(cats, cat)
		}
	}
	idx, err := raw.Create(IndexPath, IndexSource, record.MediaJSONL)
	if err != nil {
		return src, &collect.FatalError{Err: fmt.Errorf("diagarchive: %w", err)}
	}
	r := &run{s: s, o: o, c: c, job: job, out: out, raw: raw, src: &src, index: json.NewEncoder(idx), explicit: explicit,
		counts: map[string]int64{}}
	if len(job.Users) > 0 && !job.AllUsers {
		var vals []string
		for _, u := range job.Users {
			vals = append(vals, u.ID)
			if u.UPN != "" {
				vals = append(vals, u.UPN)
			}
		}
		r.users = vals
	}
	src.Files = append(src.Files, IndexPath)
	for _, cat := range cats {
		if err := r.container(ctx, cat); err != nil {
			return src, err
		}
	}
	r.counts["requests"] = r.requests.Load()
	src.Counts = r.counts
	sort.SliceStable(src.Missing, func(i, j int) bool { return src.Missing[i].Start < src.Missing[j].Start })
	src.Summarize()
	return src, nil
}

// run is one Collect's state.
type run struct {
	s        *Source
	o        Options
	c        *collect.Client
	job      collect.Job
	out      collect.Output
	raw      RawOutput
	src      *manifest.Source
	index    *json.Encoder
	explicit bool
	users    []string // ids and UPNs of a per-user grab; nil: no subject files
	counts   map[string]int64
	requests atomic.Int64
}

// reqLog writes every storage request to requests.jsonl (never a SAS: the
// URL is redacted) and counts them.
type reqLog struct{ r *run }

func (p reqLog) Do(req *policy.Request) (*http.Response, error) {
	start := time.Now()
	p.r.requests.Add(1)
	resp, err := req.Next()
	if p.r.c == nil {
		return resp, err
	}
	rec := collect.RequestRecord{Time: collect.FormatTime(start), Source: Name, Endpoint: "storage: " + req.Raw().Method + " blob service",
		Method: req.Raw().Method, URL: collect.RedactURL(req.Raw().URL.String()), Attempt: 1, ClientRequestID: req.Raw().Header.Get("x-ms-client-request-id")}
	if resp != nil {
		rec.Status = resp.StatusCode
		rec.RequestID = resp.Header.Get("x-ms-request-id")
		rec.Date = resp.Header.Get("Date")
	}
	if err != nil {
		rec.Error = p.r.scrub(err.Error())
	}
	rec.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	p.r.c.LogRequest(rec)
	return resp, err
}

// scrub removes the SAS from a message.
func (r *run) scrub(msg string) string {
	if r.o.SAS == "" {
		return msg
	}
	sas := strings.TrimPrefix(r.o.SAS, "?")
	msg = strings.ReplaceAll(msg, sas, "REDACTED")
	if q, err := url.ParseQuery(sas); err == nil && q.Get("sig") != "" {
		msg = strings.ReplaceAll(msg, q.Get("sig"), "REDACTED")
		msg = strings.ReplaceAll(msg, url.QueryEscape(q.Get("sig")), "REDACTED")
	}
	return strings.Join(strings.Fields(msg), " ")
}

func (r *run) client(name string) (*container.Client, error) {
	opts := &container.ClientOptions{ClientOptions: policy.ClientOptions{
		Telemetry:                       policy.TelemetryOptions{ApplicationID: "evidence"},
		Transport:                       r.o.Transport,
		PerRetryPolicies:                []policy.Policy{reqLog{r}},
		InsecureAllowCredentialWithHTTP: strings.HasPrefix(r.o.Service, "http://"), // loopback only (ParseService)
	}}
	u := r.o.Service + "/" + name
	if r.o.SAS != "" {
		return container.NewClientWithNoCredential(u+"?"+strings.TrimPrefix(r.o.SAS, "?"), opts)
	}
	return container.NewClient(u, r.o.Credential, opts)
}

// classify turns a storage error into a status and reason; fatal errors
// (cancellation) end the run.
func (r *run) classify(err error) (status, reason string, fatal bool) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return manifest.StatusFailed, "cancelled", true
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		msg := fmt.Sprintf("HTTP %d %s", re.StatusCode, re.ErrorCode)
		switch {
		case re.StatusCode == http.StatusForbidden:
			return manifest.StatusUnavailable, "permission: the storage account refused the read (" + msg + "): " + Fix, false
		case re.StatusCode == http.StatusUnauthorized:
			return manifest.StatusUnavailable, "credentials refused by the storage account (" + msg + "): " + Fix, false
		}
		return manifest.StatusFailed, msg, false
	}
	return manifest.StatusFailed, r.scrub(err.Error()), false
}

// hours lists the hours that overlap the window.
func hours(w collect.Window) []time.Time {
	var hs []time.Time
	for h := w.Start.UTC().Truncate(time.Hour); h.Before(w.End); h = h.Add(time.Hour) {
		hs = append(hs, h)
	}
	return hs
}

// clip is the part of hour h inside w.
func clip(h time.Time, w collect.Window) manifest.Window {
	s, e := h, h.Add(time.Hour)
	if s.Before(w.Start) {
		s = w.Start
	}
	if e.After(w.End) {
		e = w.End
	}
	return manifest.NewWindow(s, e)
}

func (r *run) gap(w manifest.Window, scope, status, reason string) {
	r.src.Missing = append(r.src.Missing, manifest.Gap{Window: w, Scope: scope, Status: status, Reason: reason})
}

// container copies one container's blobs of the window.
func (r *run) container(ctx context.Context, cat Category) error {
	cc, err := r.client(cat.Container)
	if err != nil {
		return &collect.FatalError{Err: fmt.Errorf("diagarchive: %s", r.scrub(err.Error()))}
	}
	whole := manifest.NewWindow(r.job.Window.Start, r.job.Window.End)
	// The tenants the container holds (tenantId=.../): normally one.
	var tenants []string
	pager := cc.NewListBlobsHierarchyPager("/", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if bloberror.HasCode(err, bloberror.ContainerNotFound) {
				r.counts["containers_missing"]++
				if r.explicit {
					r.gap(whole, cat.Container, manifest.StatusUnavailable, "container "+cat.Container+" does not exist: the diagnostic settings do not archive "+cat.Name+" to this account")
				} else {
					r.s.warn("container %s does not exist: the tenant does not archive %s to this account", cat.Container, cat.Name)
				}
				return nil
			}
			status, reason, fatal := r.classify(err)
			if fatal {
				return &collect.FatalError{Err: err}
			}
			r.gap(whole, cat.Container, status, cat.Container+": "+reason)
			return nil
		}
		for _, p := range page.Segment.BlobPrefixes {
			if p.Name != nil && strings.HasPrefix(*p.Name, "tenantId=") {
				tenants = append(tenants, *p.Name)
			}
		}
	}
	r.counts["containers"]++
	if len(tenants) == 0 {
		r.gap(whole, cat.Container, manifest.StatusUnavailable, "container "+cat.Container+" holds no tenantId=... blobs: no hour of "+cat.Name+" is archived")
		return nil
	}
	if len(tenants) > 1 {
		r.s.warn("container %s holds the logs of %d tenants (%s): each is copied", cat.Container, len(tenants), strings.Join(tenants, ", "))
	}
	for _, t := range tenants {
		if err := r.tenant(ctx, cc, cat, t); err != nil {
			return err
		}
	}
	return nil
}

// tenant copies the hours of the window under one tenantId=.../ prefix,
// listing one day at a time, and reports the hours without a blob.
func (r *run) tenant(ctx context.Context, cc *container.Client, cat Category, prefix string) error {
	w := r.job.Window
	scope := cat.Container + "/" + strings.TrimSuffix(prefix, "/")
	present := map[time.Time]bool{}
	listed := map[time.Time]bool{} // days whose listing succeeded
	var subject collect.Sink
	for day := w.Start.UTC().Truncate(24 * time.Hour); day.Before(w.End); day = day.Add(24 * time.Hour) {
		dw := collect.Window{Start: day, End: day.Add(24 * time.Hour)}
		if dw.Start.Before(w.Start) {
			dw.Start = w.Start
		}
		if dw.End.After(w.End) {
			dw.End = w.End
		}
		p := fmt.Sprintf("%sy=%04d/m=%02d/d=%02d/", prefix, day.Year(), int(day.Month()), day.Day())
		sw := manifest.SubWindow{Window: manifest.NewWindow(dw.Start, dw.End), Scope: scope, Status: manifest.StatusCollected, Query: "prefix=" + p}
		pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &p})
		var items []*container.BlobItem
		var lerr error
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				lerr = err
				break
			}
			items = append(items, page.Segment.BlobItems...)
		}
		if lerr != nil {
			status, reason, fatal := r.classify(lerr)
			if fatal {
				return &collect.FatalError{Err: lerr}
			}
			sw.Status, sw.Reason = status, reason
			r.src.Windows = append(r.src.Windows, sw)
			continue
		}
		listed[day] = true
		for _, it := range items {
			if it.Name == nil || it.Properties == nil {
				continue
			}
			m := blobName.FindStringSubmatch(*it.Name)
			if m == nil {
				r.counts["blobs_unexpected_name"]++
				r.s.warn("%s/%s: not named as diagnostic settings name blobs; not copied", cat.Container, *it.Name)
				continue
			}
			h, err := time.Parse("2006-01-02T15", m[2]+"-"+m[3]+"-"+m[4]+"T"+m[5])
			if err != nil || !h.Before(w.End) || !h.Add(time.Hour).After(w.Start) {
				continue // an hour outside the window
			}
			if subject == nil && r.users != nil && len(cat.Users) > 0 {
				path := Dir + "/" + cat.Container + ".subject.jsonl"
				if subject, err = r.out.Open(path, SubjectSource, subjectColumns); err != nil {
					return &collect.FatalError{Err: fmt.Errorf("diagarchive: %w", err)}
				}
				r.src.Files = append(r.src.Files, path, record.CSVPath(path))
			}
			e, err := r.copyBlob(ctx, cc, cat, it, h, subject)
			if err != nil {
				var fe *collect.FatalError
				if errors.As(err, &fe) {
					return err
				}
				status, reason, fatal := r.classify(err)
				if fatal {
					return &collect.FatalError{Err: err}
				}
				r.gap(clip(h, w), scope, status, fmt.Sprintf("blob %s could not be read: %s", *it.Name, reason))
				continue
			}
			present[h] = true
			sw.Pages++
			sw.Records += e.Lines
			if e.MD5Check == MD5Mismatch {
				r.gap(clip(h, w), scope, manifest.StatusFailed, fmt.Sprintf("tampered: blob %s reads with MD5 %s, but the service's Content-MD5 is %s: it changed after it was written; the copy (%s) is kept as read", *it.Name, e.MD5, e.ContentMD5, e.Path))
				r.s.warn("TAMPERED? %s/%s: MD5 %s, Content-MD5 %s", cat.Container, *it.Name, e.MD5, e.ContentMD5)
			}
		}
		r.src.Windows = append(r.src.Windows, sw)
	}
	if subject == nil && r.users != nil && len(cat.Users) == 0 {
		r.s.warn("%s: %s records name no user: the blobs are copied whole, without a subject file", cat.Container, cat.Name)
	}
	// Hours without a blob, joined into runs.
	var run []time.Time
	flush := func() {
		if len(run) == 0 {
			return
		}
		a, b := clip(run[0], w), clip(run[len(run)-1], w)
		r.counts["hours_missing"] += int64(len(run))
		r.gap(manifest.Window{Start: a.Start, End: b.End}, scope, manifest.StatusUnavailable,
			fmt.Sprintf("not collected: no blob for %d hour(s) of %s (the diagnostic setting was off or not yet made, the blob was deleted, or no event was logged)", len(run), cat.Name))
		run = nil
	}
	for _, h := range hours(w) {
		if present[h] || !listed[h.Truncate(24*time.Hour)] {
			flush()
			continue
		}
		run = append(run, h)
	}
	flush()
	return nil
}

// copyBlob streams one blob into the bundle, hashing it, counting its
// lines and writing the subject's lines to subject (when not nil).
func (r *run) copyBlob(ctx context.Context, cc *container.Client, cat Category, it *container.BlobItem, hour time.Time, subject collect.Sink) (*IndexEntry, error) {
	name := *it.Name
	resp, err := cc.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		return nil, err
	}
	body := resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 3})
	defer body.Close()
	path := Dir + "/" + cat.Container + "/" + name
	w, err := r.raw.Create(path, Name, "application/x-ndjson")
	if err != nil {
		return nil, &collect.FatalError{Err: fmt.Errorf("diagarchive: %w", err)}
	}
	mh, sh := md5.New(), sha256.New() //nolint:gosec // see the import
	ls := &lineSplitter{subject: subject}
	if subject != nil {
		ls.scope = &collect.Scope{Require: []collect.Cond{{What: "user", Paths: cat.Users, Values: r.users}}}
	}
	n, err := io.Copy(io.MultiWriter(w, mh, sh, ls), body)
	if err != nil {
		var fe *collect.FatalError
		if errors.As(err, &fe) {
			return nil, err
		}
		// The part read stays in the bundle; the index says it is partial.
		_, _, fatal := r.classify(err)
		if !fatal {
			e := &IndexEntry{Container: cat.Container, Blob: name, Path: path, Hour: collect.FormatTime(hour), Size: n,
				Error: fmt.Sprintf("copy incomplete after %d bytes: %s", n, r.scrub(err.Error()))}
			if ierr := r.index.Encode(e); ierr != nil {
				return nil, &collect.FatalError{Err: fmt.Errorf("diagarchive: writing the index: %w", ierr)}
			}
			r.counts["blobs_incomplete"]++
		}
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if err := ls.finish(); err != nil {
		return nil, err
	}
	e := &IndexEntry{Container: cat.Container, Blob: name, Path: path, Hour: collect.FormatTime(hour), Size: n,
		MD5: base64.StdEncoding.EncodeToString(mh.Sum(nil)), SHA256: hex.EncodeToString(sh.Sum(nil)), Lines: ls.lines, SubjectLines: ls.subjectLines}
	if resp.ETag != nil {
		e.ETag = string(*resp.ETag)
	}
	if resp.LastModified != nil {
		e.LastModified = collect.FormatTime(resp.LastModified.UTC())
	}
	if resp.BlobType != nil {
		e.BlobType = string(*resp.BlobType)
	}
	given := resp.ContentMD5
	if len(given) == 0 && it.Properties.ETag != nil && string(*it.Properties.ETag) == e.ETag {
		given = it.Properties.ContentMD5
	}
	e.MD5Check = MD5None
	if len(given) > 0 {
		e.ContentMD5 = base64.StdEncoding.EncodeToString(given)
		e.MD5Check = MD5Match
		if e.ContentMD5 != e.MD5 {
			e.MD5Check = MD5Mismatch
		}
	}
	r.counts["blobs"]++
	r.counts["bytes"] += n
	r.counts["subject_records"] += ls.subjectLines
	switch e.MD5Check {
	case MD5Match:
		r.counts["md5_checked"]++
	case MD5Mismatch:
		r.counts["md5_mismatch"]++
	default:
		r.counts["md5_not_given"]++
	}
	if err := r.index.Encode(e); err != nil {
		return nil, &collect.FatalError{Err: fmt.Errorf("diagarchive: writing the index: %w", err)}
	}
	return e, nil
}

// lineSplitter counts the JSON Lines records streamed through it and
// passes those that name the subject to subject. Memory: one line.
type lineSplitter struct {
	scope        *collect.Scope // the subject's identity fields
	subject      collect.Sink
	buf          []byte
	lines        int64
	subjectLines int64
}

func (l *lineSplitter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.buf = append(l.buf, p...)
			break
		}
		l.buf = append(l.buf, p[:i]...)
		if err := l.line(); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	return n, nil
}

func (l *lineSplitter) finish() error {
	if len(l.buf) > 0 {
		return l.line()
	}
	return nil
}

func (l *lineSplitter) line() error {
	rec := bytes.TrimRight(l.buf, "\r")
	defer func() { l.buf = l.buf[:0] }()
	if len(bytes.TrimSpace(rec)) == 0 {
		return nil
	}
	l.lines++
	if l.subject == nil {
		return nil
	}
	if l.scope.Outside(rec) != "" {
		return nil
	}
	l.subjectLines++
	if err := l.subject.Write(rec); err != nil {
		return &collect.FatalError{Err: fmt.Errorf("diagarchive: writing a subject line: %w", err)}
	}
	return nil
}
