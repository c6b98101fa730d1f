package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
	"github.com/evidence-dfir/evidence/archive/export"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// TestExportOrphansAndLeftovers: export status names every bundle on disk
// that the index does not hold (exit 4), and the next run removes the hidden
// work files interrupted runs left (a half-built bundle, a half-written
// archive, a half-written state) but nothing else: not a grab's, not an
// orphan bundle.
func TestExportOrphansAndLeftovers(t *testing.T) {
	day0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	srv := newSim(t, graphtest.Config{Seed: 10, AuditsPerUser: 40, SignInsPerUser: 40, Now: day0})
	stateDir, out := t.TempDir(), t.TempDir()
	code, stdout, stderr := invoke(t, tokenEnv, exportArgs(srv, stateDir, out, day0, "--since", "2d", "--settle", "audits=0s")...)
	if code != ExitOK {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	bundle := lastLine(stdout)
	status := func() (int, string) {
		code, stdout, _ := invoke(t, nil, "export", "status", "--state", stateDir, "--out", out, "--now", day0.Add(time.Hour).Format(time.RFC3339))
		return code, stdout
	}
	if code, s := status(); code != ExitOK || strings.Contains(s, "Orphans:") || strings.Contains(s, "Leftovers:") {
		t.Fatalf("clean status: exit %d\n%s", code, s)
	}

	// What interrupted runs leave: two sealed bundles never recorded, and
	// hidden work files.
	b, _ := os.ReadFile(bundle)
	orphanArchive := filepath.Join(out, "evidence-export-20261123T180000Z"+manifest.ArchiveSuffix)
	os.WriteFile(orphanArchive, b, 0o644)
	orphanDir := filepath.Join(out, "evidence-export-20261123T190000Z")
	os.MkdirAll(orphanDir, 0o755)
	os.WriteFile(filepath.Join(orphanDir, manifest.SumsName), []byte("x"), 0o644)
	stage := filepath.Join(out, ".evidence-export-20261123T200000Z.partial")
	os.MkdirAll(filepath.Join(stage, "signins"), 0o755)
	os.WriteFile(filepath.Join(stage, "signins", "interactive.jsonl"), []byte("{}\n"), 0o644)
	halfArchive := filepath.Join(out, ".evidence-export-20261123T200000Z.tar.zst.123.partial")
	os.WriteFile(halfArchive, []byte("half"), 0o644)
	halfState := filepath.Join(stateDir, ".state.json.456.partial")
	os.WriteFile(halfState, []byte("{"), 0o644)
	grabs := filepath.Join(out, ".evidence-20261123T200000Z-3f2a9c1d.partial")
	os.MkdirAll(grabs, 0o755)

	code, s := status()
	if code != ExitVerify || !strings.Contains(s, "Orphans: 2 bundle(s) on disk that the index does not hold") ||
		!strings.Contains(s, orphanArchive) || !strings.Contains(s, orphanDir) || !strings.Contains(s, "Leftovers: 3 work file(s)") {
		t.Fatalf("status with orphans and leftovers: exit %d\n%s", code, s)
	}
	if strings.Contains(s, grabs) {
		t.Errorf("status counts a grab's work directory as an export leftover:\n%s", s)
	}

	srv.Tenant.SetNow(day0.Add(24 * time.Hour))
	code, _, stderr = invoke(t, tokenEnv, exportArgs(srv, stateDir, out, day0.Add(24*time.Hour), "--settle", "audits=0s")...)
	if code != ExitOK && code != ExitIncomplete {
		t.Fatalf("second export: exit %d\n%s", code, stderr)
	}
	for _, p := range []string{stage, halfArchive, halfState} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("the next run left %s (%v)", p, err)
		}
	}
	if _, err := os.Stat(grabs); err != nil {
		t.Errorf("the next run removed %s, which is not its leftover: %v", grabs, err)
	}
	// Neither orphan is this export's next link (one is a copy of bundle 1,
	// the other does not verify): both are moved aside, with the reason.
	for _, p := range []string{orphanArchive, orphanDir} {
		q := filepath.Join(out, export.QuarantineDir, filepath.Base(p))
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("the next run left the orphan %s in place (%v)", p, err)
		}
		if _, err := os.Stat(q); err != nil {
			t.Errorf("the orphan %s is not in quarantine: %v", p, err)
		}
		if why, err := os.ReadFile(q + ".quarantined.txt"); err != nil || !strings.Contains(string(why), "not adopted") {
			t.Errorf("no reason beside the quarantined %s: %q %v", q, why, err)
		}
	}
	if !strings.Contains(stderr, "QUARANTINED "+orphanArchive) || !strings.Contains(stderr, "copy of bundle 1") || !strings.Contains(stderr, "QUARANTINED "+orphanDir) {
		t.Errorf("the run does not say what it quarantined:\n%s", stderr)
	}
	if code, s := status(); code != ExitVerify || strings.Contains(s, "Leftovers:") || strings.Contains(s, "Orphans:") || !strings.Contains(s, "Quarantined: 2") {
		t.Errorf("status after the next run: exit %d\n%s", code, s)
	}
}

// TestExportAdoptsOrphan: a bundle this export sealed and published but
// that its index does not hold, without a pending record (the state was
// restored from a copy taken before that cycle), is adopted by the next
// run from its manifest: recorded as the next index entry, its watermarks
// and edge as the cycle left them, so that the following days hold the
// same records as a series that never lost its state, none twice.
func TestExportAdoptsOrphan(t *testing.T) {
	day0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	srv := newSim(t, graphtest.Config{Seed: 12, AuditsPerUser: 40, SignInsPerUser: 40, Now: day0})
	lost, lostOut := t.TempDir(), t.TempDir()
	clean, cleanOut := t.TempDir(), t.TempDir()
	day := func(stateDir, out string, d int, extra ...string) string {
		t.Helper()
		now := day0.Add(time.Duration(d) * 24 * time.Hour)
		srv.Tenant.SetNow(now)
		if d == 0 {
			extra = append(extra, "--since", "2d")
		}
		code, _, stderr := invoke(t, tokenEnv, exportArgs(srv, stateDir, out, now, extra...)...)
		if code != ExitOK {
			t.Fatalf("day %d, state %s: exit %d\n%s", d+1, stateDir, code, stderr)
		}
		return stderr
	}
	stateFile := filepath.Join(lost, "state.json")
	for d := 0; d < 2; d++ {
		day(clean, cleanOut, d)
	}
	day(lost, lostOut, 0)
	saved, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	day(lost, lostOut, 1)
	published := loadDirState(t, lost).Index[1]
	if err := os.WriteFile(stateFile, saved, 0o600); err != nil { // the state as it was before day 2
		t.Fatal(err)
	}
	if code, s := status2(t, lost, lostOut, day0.Add(25*time.Hour)); code != ExitVerify || !strings.Contains(s, "Orphans: 1") {
		t.Fatalf("status with the restored state: exit %d\n%s", code, s)
	}
	stderr := day(lost, lostOut, 1)
	if !strings.Contains(stderr, "found on disk without an index entry") || !strings.Contains(stderr, "nothing new to export yet") {
		t.Fatalf("the run after the restore did not adopt the bundle, or collected again:\n%s", stderr)
	}
	st, cst := loadDirState(t, lost), loadDirState(t, clean)
	if len(st.Index) != 2 || st.Index[1].Location != published.Location || st.Index[1].SHA256 != published.SHA256 || len(st.VerifyChain()) > 0 {
		t.Fatalf("index after adoption: %+v", st.Index)
	}
	got, _ := json.Marshal(st.Sources)
	want, _ := json.Marshal(cst.Sources)
	if string(got) != string(want) {
		t.Errorf("the adopted state's sources differ from a series that never lost its state:\n got %s\nwant %s", got, want)
	}
	if code, s := status2(t, lost, lostOut, day0.Add(25*time.Hour)); code != ExitOK {
		t.Errorf("status after adoption: exit %d\n%s", code, s)
	}
	day(lost, lostOut, 2)
	day(clean, cleanOut, 2)
	if missing, extra := multisetDiff(seriesRecords(t, clean), seriesRecords(t, lost)); len(missing)+len(extra) > 0 {
		t.Fatalf("after adoption the series differs from the clean one: %d records lost, %d extra (first lost %v, first extra %v)",
			len(missing), len(extra), first(missing), first(extra))
	}
}

func status2(t *testing.T, stateDir, out string, now time.Time) (int, string) {
	code, stdout, _ := invoke(t, nil, "export", "status", "--state", stateDir, "--out", out, "--now", now.Format(time.RFC3339))
	return code, stdout
}

// TestExportBlobOrphans: the bundles under an export's --blob-url that its
// index does not hold are listed by `export status --blob-url` (text and
// --json, exit 4). A fresh state's first run looks there too: when the
// state was lost and is started again at the same path, it adopts the
// bundle that path sealed as the first link of its chain (the next day
// then holds the records of a series that never lost its state, none
// twice), and names, without touching it, the blob it does not adopt (a
// copy of that bundle under another name).
func TestExportBlobOrphans(t *testing.T) {
	az := azuritetest.Start(t)
	cc := az.CreateContainer(t, "evidence")
	sas := az.ContainerSAS(t, "evidence", "racwl")
	t.Setenv(blob.EnvSAS, sas)
	t.Setenv(blob.EnvConnectionString, "")
	day0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	srv := newSim(t, graphtest.Config{Seed: 14, AuditsPerUser: 30, SignInsPerUser: 30, Now: day0})
	blobURL := az.ContainerURL("evidence") + "/contoso"
	stateDir, cleanState := t.TempDir(), t.TempDir()
	day := func(d int, stateDir, url string) string {
		t.Helper()
		now := day0.Add(time.Duration(d) * 24 * time.Hour)
		srv.Tenant.SetNow(now)
		args := exportArgs(srv, stateDir, t.TempDir(), now, "--bundle", "blob", "--blob-url", url, "--allow-mutable", "--sources", "audits,signins")
		if d == 0 {
			args = append(args, "--since", "2d")
		}
		code, _, stderr := invoke(t, tokenEnv, args...)
		if code != ExitOK {
			t.Fatalf("day %d, state %s: exit %d\n%s", d+1, stateDir, code, stderr)
		}
		return stderr
	}
	status := func() (int, string, *export.StatusReport) {
		t.Helper()
		now := day0.Add(25 * time.Hour).Format(time.RFC3339)
		code, text, _ := invoke(t, nil, "export", "status", "--state", stateDir, "--blob-url", blobURL, "--now", now)
		jcode, js, _ := invoke(t, nil, "export", "status", "--json", "--state", stateDir, "--blob-url", blobURL, "--now", now)
		var r struct {
			Status *export.StatusReport `json:"status"`
		}
		if err := json.Unmarshal([]byte(js), &r); err != nil || r.Status == nil || jcode != code {
			t.Fatalf("export status --json: exit %d (text: %d), %v\n%s", jcode, code, err, js)
		}
		return code, text, r.Status
	}
	day(0, stateDir, blobURL)
	day(0, cleanState, blobURL+"-clean")
	if code, s, _ := status(); code != ExitOK || strings.Contains(s, "\nOrphans") {
		t.Fatalf("status of a clean export: exit %d\n%s", code, s)
	}
	bundle1 := loadDirState(t, stateDir).Index[0]

	// A copy of bundle 1 under another export name: an orphan in the container.
	dl, err := cc.NewBlockBlobClient("contoso/"+bundle1.Bundle).DownloadStream(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	copyName := "evidence-export-20261123T180000Z" + manifest.ArchiveSuffix
	if _, err := cc.NewBlockBlobClient("contoso/"+copyName).UploadBuffer(context.Background(), b, nil); err != nil {
		t.Fatal(err)
	}
	copyURL := blobURL + "/" + copyName
	code, s, r := status()
	if code != ExitVerify || !strings.Contains(s, "Orphans in "+blobURL+": 1 bundle(s)") || !strings.Contains(s, copyURL) || !slices.Equal(r.Orphans, []string{copyURL}) {
		t.Fatalf("status with a blob the index does not hold: exit %d, orphans %v\n%s", code, r.Orphans, s)
	}

	// The state is lost and started again at the same path: its first run
	// adopts bundle 1 from the container and names the copy.
	if err := os.RemoveAll(stateDir); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(stateDir, 0o700)
	stderr := day(1, stateDir, blobURL)
	day(1, cleanState, blobURL+"-clean")
	if !strings.Contains(stderr, "adopted bundle 1, "+bundle1.Location) || !strings.Contains(stderr, "NOT ADOPTED "+copyURL) || !strings.Contains(stderr, "copy of bundle 1") {
		t.Fatalf("the fresh state's first run does not say what it adopted and what it did not:\n%s", stderr)
	}
	st := loadDirState(t, stateDir)
	if len(st.Index) != 2 || st.Index[0].Location != bundle1.Location || st.Index[0].SHA256 != bundle1.SHA256 {
		t.Fatalf("the fresh state's index: %+v", st.Index)
	}
	clean, got := seriesRecords(t, cleanState), seriesRecords(t, stateDir)
	if missing, extra := multisetDiff(clean, got); len(missing)+len(extra) > 0 || len(clean) == 0 {
		t.Fatalf("after the adoption the series differs from one that never lost its state: %d lost, %d extra of %d (first lost %v, first extra %v)",
			len(missing), len(extra), len(clean), first(missing), first(extra))
	}
	if code, s, r := status(); code != ExitVerify || !slices.Equal(r.Orphans, []string{copyURL}) {
		t.Fatalf("status after the adoption: exit %d, orphans %v\n%s", code, r.Orphans, s)
	}
}

// TestExportFreshStateSettlesOut: a fresh state's first run looks in --out
// for the bundles an earlier state left there instead of ignoring them.
// Started again at the path of a state that was lost, it adopts that
// state's bundle as its first link (the series then holds the records of
// one that never lost its state, none twice); another state's first run
// in the same --out quarantines them, saying why.
func TestExportFreshStateSettlesOut(t *testing.T) {
	day0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	srv := newSim(t, graphtest.Config{Seed: 15, AuditsPerUser: 30, SignInsPerUser: 30, Now: day0})
	stateDir, out, cleanState, cleanOut := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	day := func(d int, stateDir, out string, since bool) string {
		t.Helper()
		now := day0.Add(time.Duration(d) * 24 * time.Hour)
		srv.Tenant.SetNow(now)
		args := exportArgs(srv, stateDir, out, now, "--sources", "audits,signins")
		if since {
			args = append(args, "--since", "2d")
		}
		code, _, stderr := invoke(t, tokenEnv, args...)
		if code != ExitOK {
			t.Fatalf("day %d, state %s: exit %d\n%s", d+1, stateDir, code, stderr)
		}
		return stderr
	}
	day(0, stateDir, out, true)
	day(0, cleanState, cleanOut, true)
	bundle1 := loadDirState(t, stateDir).Index[0]
	if err := os.RemoveAll(stateDir); err != nil { // the state is lost
		t.Fatal(err)
	}
	os.MkdirAll(stateDir, 0o700)
	stderr := day(1, stateDir, out, false) // no --since: the adopted bundle carries the watermarks
	day(1, cleanState, cleanOut, false)
	if !strings.Contains(stderr, "adopted bundle 1, "+bundle1.Location) {
		t.Fatalf("the fresh state's first run did not adopt the bundle its path sealed:\n%s", stderr)
	}
	if st := loadDirState(t, stateDir); len(st.Index) != 2 || st.Index[0].SHA256 != bundle1.SHA256 || len(st.VerifyChain()) > 0 {
		t.Fatalf("the fresh state's index: %+v", st.Index)
	}
	if missing, extra := multisetDiff(seriesRecords(t, cleanState), seriesRecords(t, stateDir)); len(missing)+len(extra) > 0 {
		t.Fatalf("after the adoption the series differs from one that never lost its state: %d lost, %d extra (first lost %v, first extra %v)",
			len(missing), len(extra), first(missing), first(extra))
	}

	other := t.TempDir()
	stderr = day(2, other, out, true)
	if n := strings.Count(stderr, "evidence: QUARANTINED "); n != 2 || !strings.Contains(stderr, "another export sealed it") {
		t.Fatalf("another state's first run in the same --out quarantined %d bundles, want 2 (another export's):\n%s", n, stderr)
	}
	if q := export.QuarantinedBundles(out); len(q) != 2 {
		t.Fatalf("quarantine/ holds %v", q)
	}
}
