package blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
)

// BenchmarkUpload measures Upload (parallel Put Block with MD5, conditional
// Put Block List, Get Properties, and the SHA-256 read-back) against Azurite
// for several block sizes and concurrencies. Loopback Azurite is not Azure:
// it shows the client's own cost and how it scales, which is what the
// defaults are chosen on (docs/performance.md). EVIDENCE_BENCH_MB sets the
// archive size (default 128).
func BenchmarkUpload(b *testing.B) {
	srv := azuritetest.Start(b)
	srv.CreateContainer(b, "bench")
	mb := 128
	if v, err := strconv.Atoi(os.Getenv("EVIDENCE_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	data := make([]byte, mb<<20)
	rand.Read(data)
	sum := sha256.Sum256(data)
	dir := b.TempDir()
	tg, _ := ParseURL(srv.ContainerURL("bench"))
	s, err := NewStore(tg, Credentials{ConnectionString: srv.ConnectionString()})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, bs := range []int64{4 << 20, 8 << 20, 16 << 20} {
		for _, c := range []int{2, 4, 8} {
			b.Run(fmt.Sprintf("block-%dMiB-c%d", bs>>20, c), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					n++
					p := filepath.Join(dir, fmt.Sprintf("a-%d.tar.zst", n))
					if err := os.WriteFile(p, data, 0o644); err != nil {
						b.Fatal(err)
					}
					if _, err := s.Upload(context.Background(), p, hex.EncodeToString(sum[:]), Options{BlockSize: bs, Concurrency: c, AllowMutable: true}); err != nil {
						b.Fatal(err)
					}
					os.Remove(p)
				}
			})
		}
	}
}
