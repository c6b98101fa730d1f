package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/manifest"
	"github.com/klauspost/compress/zstd"
)

// entry is one hand-crafted tar entry.
type entry struct {
	name string
	typ  byte
	body string
	link string
}

func file(name, body string) entry { return entry{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) entry        { return entry{name: name, typ: tar.TypeDir} }

// rawTar builds an uncompressed tar of entries, with its end marker.
func rawTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, Size: int64(len(e.body))}
		switch e.typ {
		case tar.TypeXGlobalHeader:
			h = &tar.Header{Typeflag: e.typ, PAXRecords: map[string]string{"comment": "x"}}
		case tar.TypeReg:
		default:
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		if h.Size > 0 {
			io.WriteString(tw, e.body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compress(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func craft(t *testing.T, entries ...entry) []byte { return compress(t, rawTar(t, entries...)) }

// collect walks b and returns the files passed to fn with their contents.
func collect(b []byte) (map[string]string, []string, error) {
	got := map[string]string{}
	var order []string
	err := Walk(bytes.NewReader(b), func(name string, r io.Reader) error {
		c, err := io.ReadAll(r)
		got[name] = string(c)
		order = append(order, name)
		return err
	})
	return got, order, err
}

func TestWalkOurArchive(t *testing.T) {
	d := testBundle(t)
	os.Mkdir(filepath.Join(d, "empty-dir"), 0o755)
	got, order, err := collect(archiveBytes(t, d, "top", testMtime))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range bundleFiles {
		if got[name] != content {
			t.Errorf("%s = %q, want %q", name, got[name], content)
		}
	}
	if len(got) != len(bundleFiles)+2 {
		t.Errorf("got files %v", order)
	}
	if !slices.IsSorted(order) || slices.Contains(order, "") || slices.Contains(order, "empty-dir") {
		t.Errorf("files passed: %v (want sorted, files only, prefix stripped)", order)
	}
}

func TestWalkAcceptsImpliedAndLateDirectories(t *testing.T) {
	b := craft(t, file("top/a/b", "1"), dir("top/a/"), file("top/c", "2"))
	got, _, err := collect(b)
	if err != nil || got["a/b"] != "1" || got["c"] != "2" || len(got) != 2 {
		t.Errorf("got %v, %v", got, err)
	}
}

func TestUnsafeEntryErrorMessage(t *testing.T) {
	err := error(&UnsafeEntryError{Name: "../x", Why: "parent directory reference"})
	if got := err.Error(); got != `unsafe tar entry "../x": parent directory reference` {
		t.Errorf("Error() = %s", got)
	}
}

func TestCheckName(t *testing.T) {
	tests := map[string]string{
		"top/a":        "",
		"top/":         "",
		"top/a b:c.é":  "",
		"top/a\x00b":   "NUL",
		"":             "empty",
		"/":            "absolute",
		"top/..":       "parent",
		"top/../":      "parent",
		"..":           "parent",
		`top\a`:        "backslash",
		"c:/x":         "drive letter",
		"./top/a":      "clean form",
		"top//a":       "clean form",
		"top/./a":      "clean form",
		"top/a//":      "clean form",
		"top/...":      "",
		"top/..hidden": "",
	}
	for name, want := range tests {
		got := checkName(name)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("checkName(%q) = %q, want %q", name, got, want)
		}
	}
}

var maliciousArchives = []struct {
	name     string
	entries  []entry
	unsafe   string // the refused entry
	why      string
	accepted []string // files passed to fn before the refusal
}{
	{"parent reference", []entry{dir("top/"), file("top/a", "1"), file("top/../x", "evil")}, "top/../x", "parent directory reference", []string{"a"}},
	{"absolute", []entry{file("/etc/x", "evil")}, "/etc/x", "absolute path", nil},
	{"absolute inside", []entry{dir("top/"), file("/top/x", "evil")}, "/top/x", "absolute path", nil},
	{"symlink", []entry{dir("top/"), {name: "top/link", typ: tar.TypeSymlink, link: "/etc/passwd"}}, "top/link", "symbolic link", nil},
	{"hardlink", []entry{dir("top/"), file("top/a", "1"), {name: "top/hl", typ: tar.TypeLink, link: "top/a"}}, "top/hl", "hard link", []string{"a"}},
	{"two top-level dirs", []entry{dir("top/"), file("top/a", "1"), dir("other/"), file("other/b", "2")}, "other/", `outside the top-level directory "top"`, []string{"a"}},
	{"file at top level", []entry{file("x", "1")}, "x", "a file at the top level", nil},
	{"duplicate", []entry{dir("top/"), file("top/a", "1"), file("top/a", "2")}, "top/a", "duplicate entry", []string{"a"}},
	{"duplicate directory", []entry{dir("top/"), dir("top/d/"), dir("top/d/")}, "top/d/", "duplicate entry", nil},
	{"inside a file", []entry{dir("top/"), file("top/a", "1"), file("top/a/b", "2")}, "top/a/b", `inside "top/a", which is a file`, []string{"a"}},
	{"file over a directory", []entry{file("top/a/b", "1"), file("top/a", "2")}, "top/a", "already used as a directory", []string{"a/b"}},
	{"backslash", []entry{dir("top/"), file(`top/..\x`, "1")}, `top/..\x`, "backslash", nil},
	{"dot slash", []entry{dir("./top/"), file("./top/a", "1")}, "./top/", "clean form", nil},
	{"fifo", []entry{dir("top/"), {name: "top/p", typ: tar.TypeFifo}}, "top/p", "fifo", nil},
	{"char device", []entry{dir("top/"), {name: "top/null", typ: tar.TypeChar}}, "top/null", "character device", nil},
	{"block device", []entry{dir("top/"), {name: "top/sda", typ: tar.TypeBlock}}, "top/sda", "block device", nil},
	{"global header", []entry{dir("top/"), {typ: tar.TypeXGlobalHeader}}, "", "pax global header", nil},
}

func TestWalkRefusesUnsafeEntries(t *testing.T) {
	for _, tt := range maliciousArchives {
		t.Run(tt.name, func(t *testing.T) {
			got, order, err := collect(craft(t, tt.entries...))
			var ue *UnsafeEntryError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want an UnsafeEntryError", err)
			}
			if ue.Name != tt.unsafe && !(tt.unsafe == "" && ue.Name != "") || !strings.Contains(ue.Why, tt.why) {
				t.Errorf("refused %q (%s), want %q (%s)", ue.Name, ue.Why, tt.unsafe, tt.why)
			}
			if !slices.Equal(order, tt.accepted) {
				t.Errorf("fn saw %v before the refusal, want %v", order, tt.accepted)
			}
			for name, content := range got {
				if content == "evil" {
					t.Errorf("fn was given the unsafe entry as %q", name)
				}
			}
		})
	}
}

func TestExtractRefusesUnsafeEntries(t *testing.T) {
	for _, tt := range maliciousArchives {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "sub", "out")
			err := Extract(bytes.NewReader(craft(t, tt.entries...)), dest)
			var ue *UnsafeEntryError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want an UnsafeEntryError", err)
			}
			// Nothing may appear beside dest.
			for _, d := range []string{parent, filepath.Join(parent, "sub")} {
				ents, _ := os.ReadDir(d)
				if len(ents) != 1 {
					t.Errorf("%s holds %d entries, want only the way to dest", d, len(ents))
				}
			}
		})
	}
}

func TestExtract(t *testing.T) {
	d := testBundle(t)
	os.Mkdir(filepath.Join(d, "empty-dir"), 0o755)
	b := archiveBytes(t, d, "top", testMtime)
	dest := filepath.Join(t.TempDir(), "bundle")
	if err := Extract(bytes.NewReader(b), dest); err != nil {
		t.Fatal(err)
	}
	res, err := manifest.VerifyDir(dest)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.Files != len(bundleFiles)+2 {
		t.Errorf("extracted bundle: OK=%v Files=%d %v", res.OK(), res.Files, res.Problems)
	}
	if fi, err := os.Stat(filepath.Join(dest, "empty-dir")); err != nil || !fi.IsDir() {
		t.Errorf("empty directory not extracted: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dest, "README.txt"))
	if err != nil || fi.Mode().Perm()&^0o644 != 0 {
		t.Errorf("README.txt mode %v, %v", fi.Mode(), err)
	}

	// Never overwrite.
	err = Extract(bytes.NewReader(b), dest)
	if err == nil || !errors.Is(err, os.ErrExist) {
		t.Errorf("second extraction: err = %v, want file exists", err)
	}
}

func TestExtractStaysInDestThroughSymlinks(t *testing.T) {
	outside := t.TempDir()
	dest := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dest, "data")); err != nil {
		t.Skip(err)
	}
	err := Extract(bytes.NewReader(craft(t, dir("top/"), file("top/data/x", "evil"))), dest)
	if err == nil {
		t.Error("extracted through a symlink in dest")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("wrote outside dest: %v", ents)
	}
}

func TestWalkFnError(t *testing.T) {
	boom := errors.New("boom")
	err := Walk(bytes.NewReader(craft(t, dir("top/"), file("top/a", "1"))), func(string, io.Reader) error { return boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "top/a") {
		t.Errorf("err = %v, want boom naming the entry", err)
	}
}

func TestWalkBrokenArchives(t *testing.T) {
	good := rawTar(t, dir("top/"), file("top/a", strings.Repeat("{\"k\":1}\n", 5000)))
	compressed := compress(t, good)
	flipped := slices.Clone(compressed)
	flipped[len(flipped)/2] ^= 0xff
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "empty"},
		{"plain tar", good, "not a zstd-compressed archive"},
		{"text", []byte("hello, world\n"), "not a zstd-compressed archive"},
		{"zstd of text", compress(t, []byte(strings.Repeat("not a tar\n", 100))), "not a tar archive"},
		{"flipped compressed byte", flipped, "zstd"},
		{"truncated zstd", compressed[:len(compressed)-7], "zstd"},
		{"tar cut inside a file", compress(t, good[:1000]), "truncated"},
		{"tar without end marker", compress(t, good[:len(good)-1024]), "no end-of-archive marker"},
		{"tar with one zero block", compress(t, good[:len(good)-512]), "no end-of-archive marker"},
		{"data after the end marker", compress(t, append(slices.Clone(good), "hidden"...)), "data after the tar end-of-archive marker"},
		{"zstd frame after garbage", append(slices.Clone(compressed), "junk"...), "zstd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := collect(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			var ue *UnsafeEntryError
			if errors.As(err, &ue) {
				t.Errorf("a broken archive reported as an unsafe entry: %v", err)
			}
			p := writeArchive(t, tt.data)
			res, err := VerifyTarZst(p)
			if err == nil || res != nil {
				t.Fatalf("VerifyTarZst = %v, %v; want an error", res, err)
			}
			t.Log(err)
			if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), p) {
				t.Errorf("error not one line naming the file: %q", err)
			}
		})
	}
	t.Run("zero padding after the end marker", func(t *testing.T) {
		padded := append(slices.Clone(good), make([]byte, 10240)...)
		if _, _, err := collect(compress(t, padded)); err != nil {
			t.Errorf("err = %v, want none", err)
		}
	})
}
