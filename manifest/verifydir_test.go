package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestVerifyDirSameForAnyWorkers: a bundle of many files of very different
// sizes (so that workers finish out of walk order), tampered in every way
// at once, gives the same Result whatever the number of workers, and the
// findings a sequential read gives.
func TestVerifyDirSameForAnyWorkers(t *testing.T) {
	dir := t.TempDir()
	for name, content := range bundleFiles {
		writeFile(t, dir, name, content)
	}
	for i := range 40 {
		// Large files early in walk order, small ones after them.
		size := 1
		if i%7 == 0 {
			size = 3 << 20
		}
		line := fmt.Sprintf("{\"n\":%d}\n", i)
		writeFile(t, dir, fmt.Sprintf("bulk/%02d.jsonl", i), strings.Repeat(line, size/len(line)+1))
	}
	seal(t, dir)

	flipByte(t, dir, "bulk/00.jsonl", 1<<20)
	flipByte(t, dir, "bulk/13.jsonl", 5)
	remove(t, dir, "bulk/21.jsonl")
	writeFile(t, dir, "bulk/99.jsonl", "{}\n")
	writeFile(t, dir, "SHA256SUMS.minisig", "x\n")
	symlink(t, "/etc/passwd", filepath.Join(dir, "bulk", "05b.jsonl"))
	writeFile(t, dir, `bulk/x\y.jsonl`, "")
	if err := os.Mkdir(filepath.Join(dir, `bad\dir`), 0o755); err != nil {
		t.Fatal(err)
	}
	wants := []want{
		{"SHA256SUMS.minisig", ProblemAdded, "not a seal"},
		{`bad\dir`, ProblemUnsafe, "unsafe directory name"},
		{"bulk/00.jsonl", ProblemChanged, "in SHA256SUMS, file has"},
		{"bulk/05b.jsonl", ProblemUnsafe, "symbolic link"},
		{"bulk/13.jsonl", ProblemChanged, "in SHA256SUMS, file has"},
		{"bulk/21.jsonl", ProblemMissing, "absent"},
		{"bulk/99.jsonl", ProblemAdded, "not listed"},
		{`bulk/x\y.jsonl`, ProblemUnsafe, "backslash"},
	}

	first, err := VerifyDirWorkers(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, first, wants)
	if first.Files != len(bundleFiles)+40-1+1+2+1 || first.Manifest == nil || first.Seal[SumsName] == nil {
		t.Errorf("workers 1: Files = %d, Manifest %v, sums kept %v", first.Files, first.Manifest != nil, first.Seal[SumsName] != nil)
	}
	for _, workers := range []int{0, 2, 3, 8, 64} {
		for range 3 {
			res, err := VerifyDirWorkers(dir, workers)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res, first) {
				t.Fatalf("workers %d: result differs from one worker's:\n%s\nwant:\n%s", workers, problemList(res), problemList(first))
			}
		}
	}
}
