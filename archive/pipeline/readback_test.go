package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
)

// bundleDir writes a small sealed-looking bundle: record files of about mb
// megabytes with their SHA256SUMS (no manifest: the read-back reports it
// missing, which these tests do not mind).
func bundleDir(t testing.TB, mb int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "evidence-readback")
	rng := rand.New(rand.NewPCG(5, 6))
	var sums bytes.Buffer
	for f := 0; f < 4; f++ {
		rel := fmt.Sprintf("signins/part-%d.jsonl", f)
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		w := bufio.NewWriter(io.MultiWriter(fh, h))
		for n := 0; n < mb<<20/4; {
			k, _ := fmt.Fprintf(w, `{"id":"%016x","createdDateTime":"2026-11-%02dT10:00:00Z","ipAddress":"198.51.100.%d"}`+"\n", rng.Uint64(), 1+rng.IntN(28), rng.IntN(256))
			n += k
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		fh.Close()
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), rel)
	}
	if err := os.WriteFile(filepath.Join(dir, manifest.SumsName), sums.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReadBackWhileWriting: the archive read back while it is written gives
// the same verdict and SHA-256 as reading the finished file again, and a
// file that is not the one read back is refused.
func TestReadBackWhileWriting(t *testing.T) {
	dir := bundleDir(t, 4)
	out := filepath.Join(t.TempDir(), "b.tar.zst")
	mtime := time.Date(2026, 11, 15, 6, 0, 0, 0, time.UTC)
	sum, rb, err := packArchive(context.Background(), dir, "evidence-readback", out, mtime, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rb == nil {
		t.Fatal("the archive was not read back while it was written")
	}
	res, got, err := readBackOf(out, rb)
	if err != nil {
		t.Fatal(err)
	}
	again, want, err := readBackArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	if got != sum || want != sum {
		t.Errorf("SHA-256 written %s, read back while writing %s, read again %s", sum, got, want)
	}
	if res.Files != again.Files || res.Bytes != again.Bytes || len(res.Problems) != len(again.Problems) {
		t.Errorf("read back while writing: %d files, %d bytes, %d problems; read again: %d, %d, %d",
			res.Files, res.Bytes, len(res.Problems), again.Files, again.Bytes, len(again.Problems))
	}
	// Another file under the archive's name, even with the same bytes, is
	// not the one read back.
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Moved aside, not removed: a removed file's inode may be given to the
	// new one (ext4 reuses it), which would then be the same file by
	// os.SameFile.
	if err := os.Rename(out, out+".read-back"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readBackOf(out, rb); err == nil {
		t.Error("a file other than the one read back was accepted")
	}
}

// TestFollowerWriteFails: a write that fails ends the read-back with an
// error, not a hang, and a short file is not taken for the whole.
func TestFollowerWriteFails(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, wait, ok := followReadBack(f)
	if !ok {
		t.Fatal("an *os.File is not followed")
	}
	if _, err := w.Write(bytes.Repeat([]byte("not zstd "), 1000)); err != nil {
		t.Fatal(err)
	}
	rb := wait(errors.New("disk full"))
	if rb.err == nil {
		t.Error("reading back a failed write gave no error")
	}
}

// BenchmarkPackReadBack: writing the archive (tar, zstd, SHA-256 of its
// bytes) and reading it back (decompress, verify every file), with the
// read-back following the write and after it; `evidence pack` also checks
// the directory as it reads it (bench/run.sh measures the whole). EVIDENCE_BENCH_MB sets the
// data size (default 64).
func BenchmarkPackReadBack(b *testing.B) {
	mb := 64
	if s := os.Getenv("EVIDENCE_BENCH_MB"); s != "" {
		fmt.Sscan(s, &mb)
	}
	dir := bundleDir(b, mb)
	mtime := time.Date(2026, 11, 15, 6, 0, 0, 0, time.UTC)
	for _, follow := range []bool{true, false} {
		name := "after"
		if follow {
			name = "following"
		}
		b.Run(name, func(b *testing.B) {
			defer func(f bool) { followWrites = f }(followWrites)
			followWrites = follow
			b.SetBytes(int64(mb) << 20)
			for i := 0; i < b.N; i++ {
				out := filepath.Join(b.TempDir(), "b.tar.zst")
				sum, rb, err := packArchive(context.Background(), dir, "evidence-readback", out, mtime, nil)
				if err != nil {
					b.Fatal(err)
				}
				_, got, err := readBackOf(out, rb)
				if err != nil || got != sum {
					b.Fatal(err, got, sum)
				}
			}
		})
	}
}

// TestRefusePackSaysWhoIsAtFault: pack checks the directory through the
// archive's read-back; when that read-back does not verify, the directory
// is verified on its own to say whether it changed (what verify DIR says)
// or it is right and the archive is not.
func TestRefusePackSaysWhoIsAtFault(t *testing.T) {
	started := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	m := &manifest.Manifest{Format: manifest.Format, CaseID: "00000000-0000-4000-8000-0000000000aa", Examiner: "J. Doe", Host: "h", OSUser: "u",
		Tool: manifest.Tool{Name: "evidence", Version: "test"}, CollectionStart: manifest.FormatTime(started)}
	b, err := Build(context.Background(), Plan{Out: t.TempDir(), Name: "evidence-refuse-test", Manifest: m, Started: started,
		Now:        func() time.Time { return started.Add(time.Minute) },
		Collectors: []Collector{Imports{Files: []string{"testdata/AuditLogs_2026-11-20.csv"}}},
		Seal:       Seal{Sources: []string{"import"}}, Readme: ImportReadme})
	if err != nil {
		t.Fatal(err)
	}
	readBack := &notVerified{readBack: true, res: &manifest.Result{Problems: []manifest.Problem{{Kind: "changed", Path: "imported/AuditLogs_2026-11-20.csv"}}}}
	var pe *Error
	err = refusePack(b.Dir, readBack)
	if !errors.As(err, &pe) || pe.Kind != Verify || !strings.Contains(err.Error(), "did not read back as the directory") {
		t.Fatalf("directory right, archive wrong: %v", err)
	}
	p := filepath.Join(b.Dir, "imported", "AuditLogs_2026-11-20.csv")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	err = refusePack(b.Dir, readBack)
	if !errors.As(err, &pe) || pe.Kind != Verify || !strings.Contains(err.Error(), "does not verify, so it is not packed") ||
		!strings.Contains(err.Error(), "imported/AuditLogs_2026-11-20.csv") {
		t.Fatalf("directory changed: %v", err)
	}
}
