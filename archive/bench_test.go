package archive

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// benchBundle writes a bundle-shaped directory of about mb megabytes of
// sign-in-like JSON Lines and CSV, and returns it and its size.
func benchBundle(b *testing.B, mb int) (string, int64) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "evidence-bench")
	var size int64
	line := 0
	rng := rand.New(rand.NewPCG(7, 9)) // ids and correlation ids are random, as in Graph
	for f := 0; f < 8; f++ {
		for _, ext := range []string{"jsonl", "csv"} {
			p := filepath.Join(dir, "signins", fmt.Sprintf("part-%d.%s", f, ext))
			os.MkdirAll(filepath.Dir(p), 0o755)
			fh, err := os.Create(p)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriterSize(fh, 1<<20)
			var n int64
			for n < int64(mb)<<20/16 {
				var k int
				if ext == "jsonl" {
					k, _ = fmt.Fprintf(w, `{"id":"%08x-%04x-4%03x-a%03x-%012x","createdDateTime":"2026-11-%02dT%02d:%02d:%02dZ","userPrincipalName":"user%d@contoso.example","appDisplayName":"Office 365 Exchange Online","ipAddress":"198.51.%d.%d","clientAppUsed":"Browser","correlationId":"%08x-%04x-4%03x-b%03x-%012x","status":{"errorCode":%d,"failureReason":"Other."},"location":{"city":"Redmond","countryOrRegion":"US"},"deviceDetail":{"browser":"Edge 130.0.0","operatingSystem":"Windows10"}}`+"\n",
						rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff,
						1+line%28, line%24, line%60, (line*7)%60, rng.IntN(5000), rng.IntN(256), rng.IntN(256),
						rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff, (line%3)*50126)
				} else {
					k, _ = fmt.Fprintf(w, "2026-11-%02dT%02d:%02d:%02dZ,%08x-%04x-4%03x-a%03x-%012x,user%d@contoso.example,Office 365 Exchange Online,198.51.%d.%d,%d\r\n",
						1+line%28, line%24, line%60, (line*7)%60, rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff,
						rng.IntN(5000), rng.IntN(256), rng.IntN(256), (line%3)*50126)
				}
				n += int64(k)
				line++
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			fh.Close()
			size += n
		}
	}
	return dir, size
}

// BenchmarkArchiveVsZstdCLI measures the archive step (read each file once,
// tar, zstd, write the archive and hash it) against the stock tools doing
// the same on the same data in the same run:
//
//	tar -cf - DIR | zstd -T0 -3 | tee OUT | sha256sum
//
// and reports both throughputs (best of the interleaved runs) and their
// ratio (ours / reference; higher is better). EVIDENCE_BENCH_MB sets the data size (default 256).
// bench/archive.sh runs it; figures are in docs/performance.md.
func BenchmarkArchiveVsZstdCLI(b *testing.B) {
	for _, tool := range []string{"tar", "zstd", "sha256sum", "tee"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s not installed: the reference cannot be measured", tool)
		}
	}
	mb := 256
	if v, err := strconv.Atoi(os.Getenv("EVIDENCE_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	dir, size := benchBundle(b, mb)
	out := filepath.Join(b.TempDir(), "out.tar.zst")
	mtime := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	configs := []struct {
		name string
		opts Options
	}{
		{"fastest-c1", Options{Level: zstd.SpeedFastest, Concurrency: 1}},
		{"fastest-c2", Options{Level: zstd.SpeedFastest, Concurrency: 2}},
		{"default-c1", Options{Level: zstd.SpeedDefault, Concurrency: 1}},
		{"default-c2", Options{Level: zstd.SpeedDefault, Concurrency: 2}},
	}
	for _, c := range configs {
		b.Run(c.name, func(b *testing.B) {
			// The machine may be shared: the best of the runs (interleaved,
			// so both sides see the same conditions) is the least disturbed.
			ours, ref := time.Duration(1<<62), time.Duration(1<<62)
			var archived int64
			for b.Loop() {
				os.Remove(out)
				start := time.Now()
				f, err := os.Create(out)
				if err != nil {
					b.Fatal(err)
				}
				h := sha256.New()
				if err := WriteTarZstOptions(io.MultiWriter(f, h), dir, "evidence-bench", mtime, c.opts); err != nil {
					b.Fatal(err)
				}
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
				_ = h.Sum(nil)
				ours = min(ours, time.Since(start))
				if fi, err := os.Stat(out); err == nil {
					archived = fi.Size()
				}

				os.Remove(out)
				start = time.Now()
				cmd := exec.Command("sh", "-c", `tar -cf - -C "$1" "$2" | zstd -T0 -3 -q | tee "$3" | sha256sum >/dev/null`, "sh", filepath.Dir(dir), filepath.Base(dir), out)
				if o, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("reference: %v\n%s", err, o)
				}
				ref = min(ref, time.Since(start))
			}
			oursMBps := float64(size) / 1e6 / ours.Seconds()
			refMBps := float64(size) / 1e6 / ref.Seconds()
			b.ReportMetric(oursMBps, "MB/s")
			b.ReportMetric(refMBps, "ref-MB/s")
			b.ReportMetric(oursMBps/refMBps, "ratio")
			b.ReportMetric(100*float64(archived)/float64(size), "%size")
		})
	}
}
