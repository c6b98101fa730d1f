package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
	"github.com/klauspost/compress/zstd"
)

var testMtime = time.Date(2024, 5, 1, 12, 30, 45, 999_999_999, time.FixedZone("CEST", 2*3600))

// bundleFiles is the content of the test bundle, before sealing.
var bundleFiles = map[string]string{
	"README.txt":                    "Evidence bundle. Verify with: sha256sum -c SHA256SUMS\n",
	"requests.jsonl":                "{\"method\":\"GET\",\"status\":200}\n",
	"data/signins/2024-01-01.jsonl": "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n",
	"data/audit.jsonl":              "{\"activity\":\"Add member to role\"}\n",
	"data/audit-extra.jsonl":        "{\"activity\":\"x\"}\n",
	"data/empty.jsonl":              "",
}

// testBundle writes a sealed bundle into a new temporary directory.
func testBundle(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range bundleFiles {
		writeFile(t, dir, name, []byte(content))
	}
	seal(t, dir)
	return dir
}

func writeFile(t testing.TB, dir, name string, content []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

// seal writes manifest.json over the regular files of dir, then SHA256SUMS.
func seal(t testing.TB, dir string) {
	t.Helper()
	m := manifest.Manifest{Format: manifest.Format, CaseID: "CASE-7"}
	var sums []manifest.Sum
	hashOf := func(name string) *manifest.HashWriter {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		hw := manifest.NewHashWriter(nil)
		hw.Write(b)
		return hw
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == manifest.ManifestName || rel == manifest.SumsName {
			return nil
		}
		hw := hashOf(rel)
		f := manifest.File{Path: rel, Size: hw.Size(), SHA256: hw.Sum(), MediaType: "application/x-ndjson"}
		if strings.HasSuffix(rel, ".jsonl") {
			n := hw.Lines()
			f.Records = &n
		}
		m.Files = append(m.Files, f)
		sums = append(sums, manifest.Sum{Path: rel, SHA256: hw.Sum()})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := manifest.Canonical(m)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, manifest.ManifestName, b)
	sums = append(sums, manifest.Sum{Path: manifest.ManifestName, SHA256: hashOf(manifest.ManifestName).Sum()})
	var buf bytes.Buffer
	if err := manifest.WriteSums(&buf, sums); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, manifest.SumsName, buf.Bytes())
}

func archiveBytes(t testing.TB, dir, prefix string, mtime time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteTarZst(&buf, dir, prefix, mtime); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeArchive(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bundle.tar.zst")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// headers decodes an archive with the plain libraries, trusting nothing of ours.
func headers(t *testing.T, b []byte) []*tar.Header {
	t.Helper()
	zr, err := zstd.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var hs []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

func TestWriteTarZstDeterministic(t *testing.T) {
	dir := testBundle(t)
	first := archiveBytes(t, dir, "CASE-7_20240501", testMtime)

	// Change every on-disk time and permission: the archive must not move.
	when := time.Date(2031, 1, 2, 3, 4, 5, 6, time.UTC)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			os.Chmod(p, 0o600)
		}
		return os.Chtimes(p, when, when)
	})
	second := archiveBytes(t, dir, "CASE-7_20240501", testMtime)
	if !bytes.Equal(first, second) {
		t.Fatal("archives of the same files differ after on-disk times changed")
	}

	// The same files elsewhere give the same bytes too.
	copyDir := t.TempDir()
	for name, content := range bundleFiles {
		writeFile(t, copyDir, name, []byte(content))
	}
	seal(t, copyDir)
	if third := archiveBytes(t, copyDir, "CASE-7_20240501", testMtime); !bytes.Equal(first, third) {
		t.Error("archives of identical directories differ")
	}

	// Sub-second differences of mtime vanish; a different second does not.
	if b := archiveBytes(t, dir, "CASE-7_20240501", testMtime.Truncate(time.Second)); !bytes.Equal(first, b) {
		t.Error("mtime is not truncated to the second")
	}
	if b := archiveBytes(t, dir, "CASE-7_20240501", testMtime.Add(time.Second)); bytes.Equal(first, b) {
		t.Error("mtime is ignored")
	}
}

// TestWriteTarZstSameAcrossConcurrency: the number of encoders (the one
// setting that could be tuned per machine) does not change the bytes.
func TestWriteTarZstSameAcrossConcurrency(t *testing.T) {
	dir := testBundle(t)
	big := bytes.Repeat([]byte(`{"id":"00000000-0000-0000-0000-000000000000","ipAddress":"198.51.100.7"}`+"\n"), 200000)
	for i := range big {
		if big[i] == '7' {
			big[i] = byte('0' + i%10) // less compressible, several zstd blocks
		}
	}
	writeFile(t, dir, "data/big.jsonl", big)
	var first []byte
	for _, c := range []int{1, 2, 4} {
		var buf bytes.Buffer
		if err := WriteTarZstOptions(&buf, dir, "top", testMtime, Options{Concurrency: c}); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = buf.Bytes()
		} else if !bytes.Equal(first, buf.Bytes()) {
			t.Fatalf("concurrency %d gives different bytes than concurrency 1", c)
		}
	}
}

func TestWriteTarZstEntries(t *testing.T) {
	dir := testBundle(t)
	long := "data/" + strings.Repeat("é", 70) + ".jsonl" // non-ASCII, > 100 bytes: needs PAX
	writeFile(t, dir, long, []byte("{}\n"))
	os.MkdirAll(filepath.Join(dir, "data", "no-records"), 0o700)
	hs := headers(t, archiveBytes(t, dir, "top", testMtime))

	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
	}
	want := []string{
		"top/",
		"top/README.txt",
		"top/SHA256SUMS",
		"top/data/",
		"top/data/audit-extra.jsonl",
		"top/data/audit.jsonl",
		"top/data/empty.jsonl",
		"top/data/no-records/",
		"top/data/signins/",
		"top/data/signins/2024-01-01.jsonl",
		"top/" + long,
		"top/manifest.json",
		"top/requests.jsonl",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("entries:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if !slices.IsSorted(names) {
		t.Error("entries not sorted")
	}
	wantTime := testMtime.UTC().Truncate(time.Second)
	for _, h := range hs {
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d/%d %q/%q", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(wantTime) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: times %v %v %v, want mtime %v only", h.Name, h.ModTime, h.AccessTime, h.ChangeTime, wantTime)
		}
		if strings.HasPrefix(h.Name, "/") || slices.Contains(strings.Split(h.Name, "/"), "..") {
			t.Errorf("%s: absolute or parent path", h.Name)
		}
		wantFormat := tar.FormatUSTAR
		if strings.Contains(h.Name, "é") {
			wantFormat = tar.FormatPAX
		}
		if h.Format != wantFormat {
			t.Errorf("%s: format %v, want %v", h.Name, h.Format, wantFormat)
		}
		switch {
		case strings.HasSuffix(h.Name, "/"):
			if h.Typeflag != tar.TypeDir || h.Mode != 0o755 {
				t.Errorf("%s: type %q mode %o, want dir 755", h.Name, h.Typeflag, h.Mode)
			}
		default:
			if h.Typeflag != tar.TypeReg || h.Mode != 0o644 {
				t.Errorf("%s: type %q mode %o, want file 644", h.Name, h.Typeflag, h.Mode)
			}
			if c, ok := bundleFiles[strings.TrimPrefix(h.Name, "top/")]; ok && int64(len(c)) != h.Size {
				t.Errorf("%s: size %d, want %d", h.Name, h.Size, len(c))
			}
		}
	}
}

func TestWriteTarZstRefuses(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		setup  func(t *testing.T, dir string)
		mtime  time.Time
		want   string
	}{
		{"symlink", "top", func(t *testing.T, dir string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "data", "passwd")); err != nil {
				t.Skip(err)
			}
		}, testMtime, "symbolic link"},
		{"symlinked directory", "top", func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(dir, "data"), filepath.Join(dir, "more")); err != nil {
				t.Skip(err)
			}
		}, testMtime, "symbolic link"},
		{"backslash in a name", "top", func(t *testing.T, dir string) {
			if runtime.GOOS == "windows" {
				t.Skip("a separator on windows")
			}
			writeFile(t, dir, `a\b`, nil)
		}, testMtime, "backslash"},
		{"empty prefix", "", nil, testMtime, "empty name"},
		{"nested prefix", "a/b", nil, testMtime, "single path component"},
		{"parent prefix", "..", nil, testMtime, "parent directory"},
		{"dot prefix", ".", nil, testMtime, "directory name"},
		{"zero mtime", "top", nil, time.Time{}, "mtime is zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testBundle(t)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			err := WriteTarZst(io.Discard, dir, tt.prefix, tt.mtime)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if err := WriteTarZst(io.Discard, filepath.Join(t.TempDir(), "nope"), "top", testMtime); err == nil {
		t.Error("a missing directory was archived")
	}
}

// gnuTar returns the path of a tar that handles --zstd, or skips the test.
func gnuTar(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar command; cannot check interoperability with stock tools")
	}
	out, err := exec.Command(bin, "--zstd", "-cf", "-", "--files-from", os.DevNull).CombinedOutput()
	if err != nil {
		t.Skipf("tar --zstd is unavailable (%v: %s); cannot check interoperability with stock tools", err, bytes.TrimSpace(out))
	}
	return bin
}

// TestStockToolsExtractAndCheck extracts our archive with GNU tar and checks
// the bundle with sha256sum -c, as someone without this tool would.
func TestStockToolsExtractAndCheck(t *testing.T) {
	tarBin := gnuTar(t)
	sumBin, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("no sha256sum command")
	}
	archive := writeArchive(t, archiveBytes(t, testBundle(t), "CASE-7_20240501", testMtime))
	dest := t.TempDir()
	if out, err := exec.Command(tarBin, "--zstd", "-xf", archive, "-C", dest).CombinedOutput(); err != nil {
		t.Fatalf("tar --zstd -xf: %v\n%s", err, out)
	}
	cmd := exec.Command(sumBin, "-c", "--strict", manifest.SumsName)
	cmd.Dir = filepath.Join(dest, "CASE-7_20240501")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sha256sum -c on the extracted bundle: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), ": OK\n"); n != len(bundleFiles)+1 {
		t.Errorf("sha256sum checked %d files, want %d:\n%s", n, len(bundleFiles)+1, out)
	}
	ls := exec.Command(tarBin, "--zstd", "--numeric-owner", "--full-time", "-tvf", archive)
	ls.Env = append(os.Environ(), "TZ=UTC")
	list, err := ls.CombinedOutput()
	if err != nil {
		t.Fatalf("tar -tvf: %v\n%s", err, list)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		if !strings.Contains(line, " 0/0 ") || !strings.Contains(line, "2024-05-01 10:30:45") {
			t.Errorf("tar -tv line without owner 0/0 or the UTC mtime: %s", line)
		}
	}
}

// TestWalkAcceptsGNUTar reads an archive GNU tar made of a bundle: its
// record padding and owner names are fine.
func TestWalkAcceptsGNUTar(t *testing.T) {
	tarBin := gnuTar(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "top")
	for name, content := range bundleFiles {
		writeFile(t, dir, name, []byte(content))
	}
	seal(t, dir)
	archive := filepath.Join(t.TempDir(), "gnu.tar.zst")
	if out, err := exec.Command(tarBin, "--zstd", "-cf", archive, "-C", parent, "top").CombinedOutput(); err != nil {
		t.Fatalf("tar -c: %v\n%s", err, out)
	}
	res, err := VerifyTarZst(archive)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.Files != len(bundleFiles)+2 {
		t.Errorf("OK=%v Files=%d problems=%v", res.OK(), res.Files, res.Problems)
	}
}

func BenchmarkWriteTarZst(b *testing.B) {
	const total = 64 << 20
	dir := b.TempDir()
	var line int
	for f := 0; f < 8; f++ {
		var buf bytes.Buffer
		for buf.Len() < total/8 {
			fmt.Fprintf(&buf, `{"id":"%08x-4d2c-9a3e-%012d","createdDateTime":"2024-05-%02dT%02d:%02d:%02dZ","userPrincipalName":"user%d@contoso.example","ipAddress":"198.51.100.%d","status":{"errorCode":%d},"appDisplayName":"Office 365 Exchange Online"}`+"\n",
				line*2654435761%(1<<32), line, 1+line%28, line%24, line%60, (line*7)%60, line%500, line%250, (line%3)*50126)
			line++
		}
		writeFile(b, dir, fmt.Sprintf("data/signins-%d.jsonl", f), buf.Bytes())
	}
	var size int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return nil
	})
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		if err := WriteTarZst(io.Discard, dir, "bench", testMtime); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteTarZstVerifierOneRead: with a Verifier the archive is the same
// bytes, and the Verifier, fed as the files are archived, finds what
// manifest.VerifyDir finds reading the directory on its own: nothing on a
// sealed bundle, the changed file on a tampered one.
func TestWriteTarZstVerifierOneRead(t *testing.T) {
	dir := testBundle(t)
	big := bytes.Repeat([]byte(`{"id":"00000000-0000-0000-0000-000000000000","ipAddress":"198.51.100.7"}`+"\n"), 50000)
	writeFile(t, dir, "data/big.jsonl", big) // several chunks in flight
	seal(t, dir)
	plain := archiveBytes(t, dir, "top", testMtime)
	for _, tamper := range []bool{false, true} {
		if tamper {
			writeFile(t, dir, "data/big.jsonl", append(big[:len(big)-2:len(big)-2], '}', '\n', '\n'))
		}
		v := manifest.NewVerifier()
		var buf bytes.Buffer
		if err := WriteTarZstOptions(&buf, dir, "top", testMtime, Options{Verifier: v}); err != nil {
			t.Fatal(err)
		}
		if !tamper && !bytes.Equal(plain, buf.Bytes()) {
			t.Error("the Verifier changed the archive's bytes")
		}
		want, err := manifest.VerifyDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		got := v.Result()
		if fmt.Sprint(got.Problems) != fmt.Sprint(want.Problems) || got.Files != want.Files || got.Bytes != want.Bytes {
			t.Errorf("tampered %v: fed while archiving %v (%d files, %d bytes); VerifyDir %v (%d files, %d bytes)",
				tamper, got.Problems, got.Files, got.Bytes, want.Problems, want.Files, want.Bytes)
		}
		if got.OK() == tamper {
			t.Errorf("tampered %v: OK %v", tamper, got.OK())
		}
	}
}
