package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/archive/report/reporttest"
	"github.com/evidence-dfir/evidence/manifest"
)

// TestReport1MBoundedMemory: evidence report, run as its own process on a
// sealed .tar.zst bundle of 1,000,000 sign-ins, verifies it and renders the
// page with a peak RSS under 150 MB (the kernel's rusage), and the page stays
// under 10 MB and says what it summarised.
func TestReport1MBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000,000-record report test skipped with -short")
	}
	const n = 1000000
	bin := buildBinary(t)
	start, end := fixedNow.Add(-30*24*time.Hour), fixedNow
	name := "evidence-" + end.Format(time.RFC3339) + "-0badc0de"
	dir := signInBundle(t, name, n, 5000, start, end)
	archivePath, _, err := packTar(dir, name, end)
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)

	page := filepath.Join(t.TempDir(), "report.html")
	cmd := exec.Command(bin, "report", "--lang", "en", "-o", page, archivePath)
	var errb strings.Builder
	cmd.Stderr = &errb
	began := time.Now()
	resetPeakRSS(t)
	if err := cmd.Run(); err != nil {
		t.Fatalf("report: %v\n%s", err, errb.String())
	}
	took := time.Since(began)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	rssMB := float64(ru.Maxrss) / 1024 // Linux reports KiB
	fi, err := os.Stat(page)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report of %d sign-ins (verify + render, from .tar.zst): peak RSS %.1f MB, page %.2f MB, wall %s, CPU %s",
		n, rssMB, float64(fi.Size())/(1<<20), took.Round(time.Millisecond), cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	if rssMB >= 150 {
		t.Errorf("peak RSS %.1f MB, limit 150 MB", rssMB)
	}
	if fi.Size() >= 10<<20 {
		t.Errorf("page of %d bytes, limit 10 MB", fi.Size())
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Summarised: the timeline shows", "1,000,000 records in 1 record file", "Verified when this page was rendered"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// signInBundle seals a bundle directory named name holding n simulated
// sign-ins of users users over [start, end), complete as its manifest says.
func signInBundle(t *testing.T, name string, n, users int, start, end time.Time) string {
	t.Helper()
	stage, err := bundle.Create(t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	w, err := stage.Create("signins/interactive.jsonl", "signins.interactive", bundle.MediaJSONL)
	if err != nil {
		t.Fatal(err)
	}
	if err := reporttest.SignIns(w, n, users, start, end, 1); err != nil {
		t.Fatal(err)
	}
	win := manifest.NewWindow(start, end)
	m := &manifest.Manifest{
		Format: manifest.Format, CaseID: "0badc0de-0000-4000-8000-000000000000",
		Tool: manifest.Tool{Name: "evidence", Version: "test"}, Examiner: "scale test",
		Tenant:          manifest.Tenant{Domain: "contoso.com", GraphURL: "https://graph.microsoft.com"},
		CollectionStart: manifest.FormatTime(end), CollectionEnd: manifest.FormatTime(end.Add(time.Hour)),
		Requested: win, Complete: true,
		Sources: []manifest.Source{{Name: "signins.interactive", Status: manifest.StatusCollected, Records: int64(n), Pages: int64(n / 1000),
			Files:   []string{"signins/interactive.jsonl"},
			Windows: []manifest.SubWindow{{Window: win, Status: manifest.StatusCollected, Records: int64(n), Pages: int64(n / 1000)}}}},
	}
	if err := stage.Seal(m); err != nil {
		t.Fatal(err)
	}
	dir, err := stage.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
