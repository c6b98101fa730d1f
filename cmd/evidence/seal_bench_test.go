package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// benchBundle writes a signed bundle of about mb MiB of sign-in-like JSON
// Lines (plus its CSV-sized twin) and returns its directory and key prefix.
func benchBundle(b *testing.B, mb int) (string, string) {
	b.Helper()
	out := b.TempDir()
	st, err := bundle.Create(out, "evidence-bench")
	if err != nil {
		b.Fatal(err)
	}
	rec := []byte(`{"id":"66ea54eb-6301-4ee5-be62-ff5a759b0100","createdDateTime":"2026-11-19T23:59:58Z","userDisplayName":"Victim","userPrincipalName":"victim@contoso.com","userId":"26b055ce-e4e6-582d-a657-7478d18d9518","appId":"00000002-0000-0ff1-ce00-000000000000","appDisplayName":"Office 365 Exchange Online","ipAddress":"185.220.101.47","clientAppUsed":"Browser","correlationId":"b8a1f3c2-1d2e-4f5a-9b8c-7d6e5f4a3b2c","conditionalAccessStatus":"notApplied","isInteractive":true,"riskDetail":"none","status":{"errorCode":0,"failureReason":"Other.","additionalDetails":null},"location":{"city":"Frankfurt am Main","state":"Hessen","countryOrRegion":"DE"}}`)
	var n int64
	for _, rel := range []string{"signins/interactive.jsonl", "audits/directory.jsonl"} {
		w, err := st.Create(rel, "bench", bundle.MediaJSONL)
		if err != nil {
			b.Fatal(err)
		}
		bw := bufio.NewWriterSize(w, 1<<20)
		for written := 0; written < mb<<19; written += len(rec) + 1 {
			bw.Write(rec)
			bw.WriteByte('\n')
			n++
		}
		bw.Flush()
	}
	m := &manifest.Manifest{Format: manifest.Format, CaseID: "bench", Examiner: "bench", Host: "bench", Tool: manifest.Tool{Name: "evidence"}}
	prefix := filepath.Join(b.TempDir(), "k")
	if _, err := seal.GenerateKey(prefix, []byte("bench"), ""); err != nil {
		b.Fatal(err)
	}
	s, err := seal.LoadSigningKey(prefix+".key", func() ([]byte, error) { return []byte("bench"), nil })
	if err != nil {
		b.Fatal(err)
	}
	o := &sealOptions{signer: s}
	if err := prepareSeal(st, m, o, []string{"signins", "audits"}); err != nil {
		b.Fatal(err)
	}
	if err := st.Seal(m); err != nil {
		b.Fatal(err)
	}
	dir := st.Dir()
	if err := seal.SignSums(dir, s); err != nil {
		b.Fatal(err)
	}
	sums, _ := os.ReadFile(filepath.Join(dir, manifest.SumsName))
	if err := seal.StartCustody(filepath.Join(dir, manifest.CustodyLogName), sums, s,
		manifest.CustodyEvent{Actor: "bench", Action: manifest.ActionSealed}); err != nil {
		b.Fatal(err)
	}
	final, err := st.Commit()
	if err != nil {
		b.Fatal(err)
	}
	return final, prefix
}

func benchMB() int {
	if v, err := strconv.Atoi(os.Getenv("EVIDENCE_BENCH_MB")); err == nil && v > 0 {
		return v
	}
	return 256
}

// BenchmarkVerifyVsSha256sum measures `evidence verify --pubkey` (hashes,
// manifest counts, signature, custody chain) over a bundle directory and
// over its .tar.zst, against `sha256sum -c` over the same directory in the
// same run. Reported: MB/s of each and the throughput ratio
// evidence/sha256sum (goal >= 0.9). Size: EVIDENCE_BENCH_MB (default 256).
//
//	go test -run '^$' -bench VerifyVsSha256sum -benchtime 3x ./cmd/evidence/
func BenchmarkVerifyVsSha256sum(b *testing.B) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		b.Skip("sha256sum not installed")
	}
	dir, prefix := benchBundle(b, benchMB())
	arch, _, err := packTar(dir, filepath.Base(dir), time.Unix(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, _ error) error {
		if fi != nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return nil
	})
	mbps := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }
	sha := func() time.Duration {
		cmd := exec.Command("sha256sum", "-c", "--quiet", manifest.SumsName)
		cmd.Dir = dir
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("sha256sum: %v %s", err, out)
		}
		return time.Since(t0)
	}
	ours := func(p string) time.Duration {
		t0 := time.Now()
		var out bytes.Buffer
		if code := run(context.Background(), []string{"verify", "--pubkey", prefix + ".pub", p}, &out, io.Discard); code != ExitOK {
			b.Fatalf("verify %s: exit %d\n%s", p, code, out.String())
		}
		return time.Since(t0)
	}
	// Warm the page cache for all three readers.
	sha()
	ours(dir)
	ours(arch)
	b.ResetTimer()
	var tSha, tDir, tArch time.Duration
	for i := 0; i < b.N; i++ {
		tSha += sha()
		tDir += ours(dir)
		tArch += ours(arch)
	}
	b.StopTimer()
	b.ReportMetric(mbps(tSha/time.Duration(b.N)), "sha256sum-MB/s")
	b.ReportMetric(mbps(tDir/time.Duration(b.N)), "verify-dir-MB/s")
	b.ReportMetric(mbps(tArch/time.Duration(b.N)), "verify-tar-MB/s")
	b.ReportMetric(tSha.Seconds()/tDir.Seconds(), "dir-ratio")
	b.ReportMetric(tSha.Seconds()/tArch.Seconds(), "tar-ratio")
	b.Logf("bundle %s: %d bytes; ratios are evidence throughput / sha256sum throughput", filepath.Base(dir), size)
}

// BenchmarkSignSums and BenchmarkCheckSignature: the cost of the signature
// itself (SHA256SUMS is small: one line per file).
func BenchmarkSignSums(b *testing.B) {
	prefix := filepath.Join(b.TempDir(), "k")
	seal.GenerateKey(prefix, []byte("bench"), "")
	s, err := seal.LoadSigningKey(prefix+".key", func() ([]byte, error) { return []byte("bench"), nil })
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 4096)
	b.Run("sign", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := seal.SignBytes(msg, s, seal.SignatureNamespace); err != nil {
				b.Fatal(err)
			}
		}
	})
	sig, _ := seal.SignBytes(msg, s, seal.SignatureNamespace)
	keys := []seal.PublicKey{s.PublicKey()}
	b.Run("verify", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if c := seal.VerifySignature(msg, sig, seal.SignatureNamespace, keys); !c.Trusted {
				b.Fatal(c)
			}
		}
	})
}
