package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/manifest"
)

// bigBundle seals a bundle of about mb megabytes of sign-in-like records
// (several files), written through bundle.Stage like a real grab.
func bigBundle(t *testing.T, out string, mb int) string {
	t.Helper()
	st, err := bundle.Create(out, "evidence-2026-11-20T06:00:00Z-0badc0de")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const files = 4
	for i := range files {
		w, err := st.Create(fmt.Sprintf("signins/part-%d.jsonl", i), "signins.interactive", bundle.MediaJSONL)
		if err != nil {
			t.Fatal(err)
		}
		bw := bufio.NewWriterSize(w, 1<<20)
		for n := 0; n < mb<<20/files; {
			k, err := fmt.Fprintf(bw, `{"id":"%08x-%04x-4%03x-a%03x-%012x","createdDateTime":"2026-11-%02dT%02d:%02d:%02dZ","userPrincipalName":"victim@contoso.com","ipAddress":"198.51.%d.%d","status":{"errorCode":%d}}`+"\n",
				rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff,
				1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(256), rng.IntN(256), rng.IntN(3)*50126)
			if err != nil {
				t.Fatal(err)
			}
			n += k
		}
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	m := &manifest.Manifest{Format: manifest.Format, CaseID: "0badc0de-0000-4000-8000-000000000000",
		CollectionStart: "2026-11-20T06:00:00Z", CollectionEnd: "2026-11-20T06:30:00Z", Complete: true}
	if err := st.Seal(m); err != nil {
		t.Fatal(err)
	}
	dir, err := st.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPack2GBFlatMemory: `evidence pack` of a 2 GB bundle (verify the
// directory, archive, verify the archive) runs in a separate process whose
// peak RSS, from the kernel's rusage, stays under 150 MB. EVIDENCE_PACK_MB
// changes the size.
func TestPack2GBFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("2 GB pack test skipped with -short")
	}
	mb := 2048
	if v, err := strconv.Atoi(os.Getenv("EVIDENCE_PACK_MB")); err == nil && v > 0 {
		mb = v
	}
	bin := buildBinary(t)
	work := t.TempDir()
	dir := bigBundle(t, work, mb)
	out := filepath.Join(work, "big.tar.zst")
	cmd := exec.Command(bin, "pack", dir, "-o", out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	resetPeakRSS(t)
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("pack: %v\n%s", err, stderr.String())
	}
	elapsed := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	rssMB := float64(ru.Maxrss) / 1024 // Linux reports KiB
	fi, _ := os.Stat(out)
	t.Logf("pack of %d MB: peak RSS %.1f MB, %s wall (verify dir + archive + verify archive), archive %.1f%% of the input",
		mb, rssMB, elapsed.Round(time.Millisecond), 100*float64(fi.Size())/float64(int64(mb)<<20))
	if rssMB >= 150 {
		t.Errorf("peak RSS %.1f MB, limit 150 MB", rssMB)
	}
	if lastLine(string(stdout)) != out {
		t.Errorf("stdout %q", stdout)
	}
	res, err := archive.VerifyTarZst(out)
	if err != nil || !res.OK() || res.Bytes < int64(mb)<<20 {
		t.Fatalf("the archive does not verify: %v %+v", err, res)
	}
}
