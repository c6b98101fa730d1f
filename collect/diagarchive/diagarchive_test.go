package diagarchive_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/diagarchive"
	"github.com/evidence-dfir/evidence/collect/diagarchive/diagtest"
	"github.com/evidence-dfir/evidence/collect/record"
	"github.com/evidence-dfir/evidence/manifest"
)

// dirOutput writes a source's files into a directory, as the bundle stage
// does (record files through the one record writer, raw files as bytes).
type dirOutput struct {
	dir   string
	mu    sync.Mutex
	files []*os.File
	src   map[string]string
}

func (d *dirOutput) create(rel, source string) (*os.File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := filepath.Join(d.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	d.files = append(d.files, f)
	if d.src == nil {
		d.src = map[string]string{}
	}
	d.src[rel] = source
	return f, nil
}

func (d *dirOutput) Create(rel, source, _ string) (io.Writer, error) { return d.create(rel, source) }

func (d *dirOutput) Open(rel, source string, cols []record.Column) (record.Sink, error) {
	j, err := d.create(rel, source)
	if err != nil {
		return nil, err
	}
	c, err := d.create(record.CSVPath(rel), source)
	if err != nil {
		return nil, err
	}
	return record.NewWriter(j, c, cols)
}

func (d *dirOutput) close() {
	for _, f := range d.files {
		f.Close()
	}
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

var (
	tenant = "a6bc3195-2d84-5ca0-9da9-3287d20a986c"
	victim = diagtest.User{ID: "e7819a44-e7f5-5bbb-a46e-c010c59b2361", UPN: "victim@contoso.com", Name: "Megan Bowen"}
	bob    = diagtest.User{ID: "5562e8f4-52f9-5616-9b54-910a6bcf3ed8", UPN: "bob@contoso.com", Name: "Bob"}
	start  = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	day    = 24 * time.Hour
)

// TestArchive40Days is issue 21's acceptance for the storage archive: a
// 40-day window of hourly blobs laid out as diagnostic settings lay them
// out (append blobs, whose Content-MD5 the service leaves empty though
// Azurite serves one; block blobs with one) is copied byte
// for byte (every copy's SHA-256 equals the source blob's; nothing outside
// the window), each blob's ETag, Content-MD5 and last-modified time are in
// the index; a tampered hour and missing hours are reported with their
// exact windows; and the filtered per-user files hold exactly the
// subject's lines.
func TestArchive40Days(t *testing.T) {
	srv := azuritetest.Start(t)
	end := start.Add(40 * day)
	missSignIn := start.Add(9*day + 5*time.Hour)
	missAudit1, missAudit2 := start.Add(19*day+22*time.Hour), start.Add(19*day+23*time.Hour)
	tampered := start.Add(11*day + 7*time.Hour)
	spec := diagtest.Spec{
		Tenant: tenant, Start: start.Add(-2 * time.Hour), End: end.Add(2 * time.Hour), Users: []diagtest.User{victim, bob},
		Categories: []string{"SignInLogs", "AuditLogs", "ServicePrincipalSignInLogs"},
		Append:     map[string]bool{"SignInLogs": true, "ServicePrincipalSignInLogs": true},
		Missing:    map[string][]time.Time{"SignInLogs": {missSignIn}, "AuditLogs": {missAudit1, missAudit2}},
		Tampered:   map[string][]time.Time{"AuditLogs": {tampered}},
	}
	truth := diagtest.Seed(t, diagtest.Plain(srv), spec)
	// One busy hour outgrew its append blob and continued in PT1H_1.json.
	truth.Overflow(t, diagtest.Plain(srv), spec, "SignInLogs", start.Add(3*day+14*time.Hour), 1)
	sasq := diagtest.AccountSAS(t, true)
	out := &dirOutput{dir: t.TempDir()}
	src := &diagarchive.Source{Opt: diagarchive.Options{Service: srv.Endpoint, SAS: sasq,
		Containers: []string{"insights-logs-signinlogs", "insights-logs-auditlogs", "insights-logs-serviceprincipalsigninlogs"}}}
	job := collect.Job{Window: collect.Window{Start: start, End: end}, Users: []collect.User{{ID: victim.ID, UPN: victim.UPN}}, Now: end}
	ms, err := src.Collect(context.Background(), nil, job, out)
	out.close()
	if err != nil {
		t.Fatal(err)
	}

	// Byte-exact copies of exactly the window's blobs.
	var want, records int64
	for _, b := range truth.Blobs {
		p := filepath.Join(out.dir, "diagarchive", b.Container, filepath.FromSlash(b.Name))
		got, err := os.ReadFile(p)
		in := !b.Hour.Before(start) && b.Hour.Before(end)
		if !in {
			if err == nil {
				t.Errorf("%s/%s outside the window was copied", b.Container, b.Name)
			}
			continue
		}
		want++
		records += int64(len(b.Lines))
		sum := sha256.Sum256(got)
		if err != nil || hex.EncodeToString(sum[:]) != b.SHA256 {
			t.Errorf("%s/%s: copy differs from the source blob (%v)", b.Container, b.Name, err)
		}
	}
	if want != 3*40*24-3+1 || ms.Counts["blobs"] != want || ms.Records != records {
		t.Errorf("%d blobs copied (want %d), %d records (want %d)", ms.Counts["blobs"], want, ms.Records, records)
	}

	// The index: one entry per blob with the service's properties and the
	// MD5 verdict.
	bySHA := map[string]diagtest.Blob{}
	for _, b := range truth.Blobs {
		bySHA[b.Container+"/"+b.Name] = b
	}
	var n int64
	checks := map[string]int{}
	for _, l := range lines(t, filepath.Join(out.dir, filepath.FromSlash(diagarchive.IndexPath))) {
		var e diagarchive.IndexEntry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		n++
		b := bySHA[e.Container+"/"+e.Blob]
		if e.SHA256 != b.SHA256 || e.ETag == "" || e.LastModified == "" || e.Size != int64(len(b.Body)) || e.Lines != int64(len(b.Lines)) ||
			e.Path != "diagarchive/"+e.Container+"/"+e.Blob || e.Hour != collect.FormatTime(b.Hour) {
			t.Errorf("index entry %+v", e)
		}
		checks[e.Container+" "+e.MD5Check]++
		if (e.MD5Check == diagarchive.MD5Mismatch) != (e.Container == "insights-logs-auditlogs" && b.Hour.Equal(tampered)) {
			t.Errorf("MD5 verdict %s for %s", e.MD5Check, e.Blob)
		}
	}
	if n != want || checks["insights-logs-signinlogs none given"]+checks["insights-logs-signinlogs match"] != 40*24-1+1 || checks["insights-logs-auditlogs match"] != 40*24-3 || checks["insights-logs-auditlogs MISMATCH"] != 1 {
		t.Errorf("index: %d entries, verdicts %v", n, checks)
	}

	// Gaps: exactly the missing hours (joined) and the tampered hour.
	type gap struct{ start, end, scope, status, word string }
	got := map[gap]bool{}
	for _, g := range ms.Missing {
		w := "missing"
		if strings.Contains(g.Reason, "tampered") {
			w = "tampered"
		} else if !strings.Contains(g.Reason, "not collected") {
			w = g.Reason
		}
		got[gap{g.Start, g.End, g.Scope, g.Status, w}] = true
	}
	sc := func(c string) string { return "insights-logs-" + c + "/tenantId=" + tenant }
	wantGaps := map[gap]bool{
		{collect.FormatTime(missSignIn), collect.FormatTime(missSignIn.Add(time.Hour)), sc("signinlogs"), manifest.StatusUnavailable, "missing"}: true,
		{collect.FormatTime(missAudit1), collect.FormatTime(missAudit2.Add(time.Hour)), sc("auditlogs"), manifest.StatusUnavailable, "missing"}:  true,
		{collect.FormatTime(tampered), collect.FormatTime(tampered.Add(time.Hour)), sc("auditlogs"), manifest.StatusFailed, "tampered"}:          true,
	}
	if len(got) != len(wantGaps) || len(ms.Missing) != len(wantGaps) {
		t.Errorf("gaps %+v, want %+v", ms.Missing, wantGaps)
	}
	for g := range wantGaps {
		if !got[g] {
			t.Errorf("gap %+v not reported; got %+v", g, ms.Missing)
		}
	}
	if ms.Status == manifest.StatusCollected || ms.Counts["hours_missing"] != 3 || ms.Counts["md5_mismatch"] != 1 {
		t.Errorf("status %s, counts %v", ms.Status, ms.Counts)
	}

	// The subject's lines, exactly, beside the untouched originals.
	for _, c := range []string{"insights-logs-signinlogs", "insights-logs-auditlogs"} {
		path := filepath.Join(out.dir, "diagarchive", c+".subject.jsonl")
		wantL := truth.Subject(c, victim, start, end)
		if gotL := lines(t, path); !slices.Equal(gotL, wantL) || len(wantL) == 0 {
			t.Errorf("%s: %d subject lines, want %d", c, len(gotL), len(wantL))
		}
		if out.src["diagarchive/"+c+".subject.jsonl"] != diagarchive.SubjectSource {
			t.Errorf("%s: the subject file is not marked as filtered", c)
		}
	}
	if _, err := os.Stat(filepath.Join(out.dir, "diagarchive", "insights-logs-serviceprincipalsigninlogs.subject.jsonl")); err == nil {
		t.Error("a subject file for records that name no user")
	}
	// No secret anywhere in what was written.
	filepath.Walk(out.dir, func(p string, fi os.FileInfo, err error) error { //nolint:errcheck
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), "sig=") {
				t.Errorf("%s holds a SAS", p)
			}
		}
		return nil
	})
	for _, w := range src.Warnings() {
		if strings.Contains(w, "sig=") {
			t.Errorf("warning holds a SAS: %s", w)
		}
	}
}

// TestArchiveRefused: a credential without the list permission is refused
// (403): every container is recorded unavailable over the whole window
// with the role that fixes it; a default container that does not exist
// is noted, not a gap.
func TestArchiveRefused(t *testing.T) {
	srv := azuritetest.Start(t)
	diagtest.Seed(t, diagtest.Plain(srv), diagtest.Spec{Tenant: tenant, Start: start, End: start.Add(3 * time.Hour), Users: []diagtest.User{victim},
		Categories: []string{"SignInLogs"}})
	w := collect.Window{Start: start, End: start.Add(3 * time.Hour)}
	out := &dirOutput{dir: t.TempDir()}
	src := &diagarchive.Source{Opt: diagarchive.Options{Service: srv.Endpoint, SAS: diagtest.AccountSAS(t, false),
		Containers: []string{"insights-logs-signinlogs"}}}
	ms, err := src.Collect(context.Background(), nil, collect.Job{Window: w, AllUsers: true}, out)
	out.close()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Missing) != 1 || ms.Missing[0].Status != manifest.StatusUnavailable || !strings.Contains(ms.Missing[0].Reason, "Storage Blob Data Reader") ||
		ms.Missing[0].Start != collect.FormatTime(w.Start) || ms.Missing[0].End != collect.FormatTime(w.End) || ms.Status != manifest.StatusUnavailable {
		t.Errorf("refusal: %+v", ms)
	}

	// Defaults: the containers the tenant does not archive are noted.
	out = &dirOutput{dir: t.TempDir()}
	src = &diagarchive.Source{Opt: diagarchive.Options{Service: srv.Endpoint, SAS: diagtest.AccountSAS(t, true)}}
	ms, err = src.Collect(context.Background(), nil, collect.Job{Window: w, AllUsers: true}, out)
	out.close()
	if err != nil {
		t.Fatal(err)
	}
	if ms.Status != manifest.StatusCollected || len(ms.Missing) != 0 || ms.Counts["blobs"] != 3 || ms.Counts["containers_missing"] != int64(len(diagarchive.Categories)-1) {
		t.Errorf("defaults: %+v", ms)
	}
	if !strings.Contains(strings.Join(src.Warnings(), "\n"), "insights-logs-auditlogs does not exist") {
		t.Errorf("warnings %v", src.Warnings())
	}
}

func TestParseService(t *testing.T) {
	for raw, want := range map[string]string{
		"https://contoso.blob.core.windows.net":        "https://contoso.blob.core.windows.net",
		"https://contoso.blob.core.windows.net/":       "https://contoso.blob.core.windows.net",
		"http://127.0.0.1:10000/devstoreaccount1":      "http://127.0.0.1:10000/devstoreaccount1",
		"http://contoso.blob.core.windows.net":         "",
		"https://contoso.blob.core.windows.net/c":      "",
		"https://contoso.blob.core.windows.net/?sig=x": "",
		"https://u:p@contoso.blob.core.windows.net":    "",
	} {
		got, err := diagarchive.ParseService(raw)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%s: %q, %v", raw, got, err)
		}
		if err != nil && strings.Contains(err.Error(), "sig=x") {
			t.Errorf("%s: the error echoes the SAS", raw)
		}
	}
}

// TestArchiveEntraCredential: without a SAS the collector signs in with
// the Entra ID credential (an azcore.TokenCredential, as azidentity's
// are), asks it for a storage token (https://storage.azure.com/.default)
// and reads the archive over TLS with it (Azurite with --oauth basic).
func TestArchiveEntraCredential(t *testing.T) {
	srv := diagtest.StartOAuth(t)
	w := collect.Window{Start: start, End: start.Add(6 * time.Hour)}
	truth := diagtest.Seed(t, srv.Account, diagtest.Spec{Tenant: tenant, Start: w.Start, End: w.End, Users: []diagtest.User{victim, bob},
		Categories: []string{"AuditLogs"}})
	cred := &diagtest.Credential{Tenant: tenant}
	out := &dirOutput{dir: t.TempDir()}
	src := &diagarchive.Source{Opt: diagarchive.Options{Service: srv.Endpoint, Credential: cred, Transport: srv.Transport,
		Containers: []string{"insights-logs-auditlogs"}}}
	ms, err := src.Collect(context.Background(), nil, collect.Job{Window: w, Users: []collect.User{{ID: victim.ID, UPN: victim.UPN}}}, out)
	out.close()
	if err != nil {
		t.Fatal(err)
	}
	if ms.Status != manifest.StatusCollected || ms.Counts["blobs"] != 6 || len(ms.Missing) != 0 {
		t.Fatalf("collect: %+v", ms)
	}
	for _, b := range truth.Blobs {
		got, _ := os.ReadFile(filepath.Join(out.dir, "diagarchive", b.Container, filepath.FromSlash(b.Name)))
		sum := sha256.Sum256(got)
		if hex.EncodeToString(sum[:]) != b.SHA256 {
			t.Errorf("%s: copy differs", b.Name)
		}
	}
	if len(cred.Scopes) == 0 || !slices.Contains(cred.Scopes, "https://storage.azure.com/.default") {
		t.Errorf("token scopes asked: %v", cred.Scopes)
	}
	got := lines(t, filepath.Join(out.dir, "diagarchive", "insights-logs-auditlogs.subject.jsonl"))
	if want := truth.Subject("insights-logs-auditlogs", victim, w.Start, w.End); !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("subject: %d lines, want %d", len(got), len(want))
	}
	// A token for another audience (a Graph token) is refused: recorded
	// unavailable over the window with the fix, nothing copied.
	out = &dirOutput{dir: t.TempDir()}
	src.Opt.Credential = &diagtest.Credential{Tenant: tenant, Audience: "https://graph.microsoft.com"}
	ms, err = src.Collect(context.Background(), nil, collect.Job{Window: w, AllUsers: true}, out)
	out.close()
	if err != nil {
		t.Fatal(err)
	}
	if ms.Status != manifest.StatusUnavailable || ms.Counts["blobs"] != 0 || len(ms.Missing) != 1 || !strings.Contains(ms.Missing[0].Reason, "Storage Blob Data Reader") {
		t.Errorf("a Graph token: %+v", ms)
	}
}
