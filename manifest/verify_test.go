package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// bundleFiles is the content of the test bundle, before sealing.
var bundleFiles = map[string]string{
	"README.txt":                    "Evidence bundle. Verify with: sha256sum -c SHA256SUMS\n",
	"requests.jsonl":                "{\"method\":\"GET\",\"status\":200}\n{\"method\":\"GET\",\"status\":429}\n",
	"data/signins/2024-01-01.jsonl": "{\"id\":\"a\",\"ip\":\"192.0.2.1\"}\n{\"id\":\"b\",\"ip\":\"192.0.2.2\"}\n{\"id\":\"c\",\"ip\":\"<&>\"}\n",
	"data/audit.jsonl":              "{\"activity\":\"Add member to role\"}\n{\"activity\":\"Update user\"}\n",
	"data/empty.jsonl":              "",
}

// testBundle writes a valid sealed bundle into a new temporary directory.
func testBundle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range bundleFiles {
		writeFile(t, dir, name, content)
	}
	seal(t, dir)
	return dir
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bundleFilesOf lists the regular files of dir ('/'-separated), but
// manifest.json and the unsealed files.
func bundleFilesOf(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel != ManifestName && !unsealed[rel] {
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func hashFile(t *testing.T, dir, name string) *HashWriter {
	t.Helper()
	hw := NewHashWriter(nil)
	hw.Write(readFile(t, dir, name))
	return hw
}

// seal writes manifest.json describing the files of dir, then SHA256SUMS.
func seal(t *testing.T, dir string) {
	t.Helper()
	m := &Manifest{Format: Format, CaseID: "CASE-42", Tool: Tool{Name: "evidence", Version: "test"}}
	for _, name := range bundleFilesOf(t, dir) {
		hw := hashFile(t, dir, name)
		f := File{Path: name, Size: hw.Size(), SHA256: hw.Sum(), MediaType: "text/plain"}
		if strings.HasSuffix(name, ".jsonl") {
			n := hw.Lines()
			f.Records = &n
			f.MediaType = "application/x-ndjson"
		}
		m.Files = append(m.Files, f)
	}
	writeManifest(t, dir, m)
	resum(t, dir)
}

func writeManifest(t *testing.T, dir string, m *Manifest) {
	t.Helper()
	b, err := Canonical(m)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, ManifestName, string(b))
}

func readManifest(t *testing.T, dir string) *Manifest {
	t.Helper()
	var m Manifest
	if err := json.Unmarshal(readFile(t, dir, ManifestName), &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// editManifest changes manifest.json and re-hashes everything in SHA256SUMS,
// as a forger who knows the format would.
func editManifest(t *testing.T, dir string, edit func(m *Manifest)) {
	t.Helper()
	m := readManifest(t, dir)
	edit(m)
	writeManifest(t, dir, m)
	resum(t, dir)
}

// resum rewrites SHA256SUMS over the files of dir and manifest.json (if any).
func resum(t *testing.T, dir string) {
	t.Helper()
	names := bundleFilesOf(t, dir)
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); err == nil {
		names = append(names, ManifestName)
	}
	var sums []Sum
	for _, name := range names {
		sums = append(sums, Sum{Path: name, SHA256: hashFile(t, dir, name).Sum()})
	}
	var buf bytes.Buffer
	if err := WriteSums(&buf, sums); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, SumsName, buf.String())
}

func flipByte(t *testing.T, dir, name string, at int) {
	t.Helper()
	b := readFile(t, dir, name)
	b[at%len(b)] ^= 0x20
	writeFile(t, dir, name, string(b))
}

func remove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		if runtime.GOOS == "windows" {
			t.Skipf("cannot create symlinks here: %v", err)
		}
		t.Fatal(err)
	}
}

// want is an expected problem: its path and kind, and words of its detail.
type want struct {
	path, kind, detail string
}

// checkProblems asserts that res holds exactly the wanted problems.
func checkProblems(t *testing.T, res *Result, wants []want) {
	t.Helper()
	if len(res.Problems) != len(wants) {
		t.Errorf("got %d problems, want %d:\n%s", len(res.Problems), len(wants), problemList(res))
		return
	}
	for i, w := range wants {
		p := res.Problems[i]
		if p.Path != w.path || p.Kind != w.kind || !strings.Contains(p.Detail, w.detail) {
			t.Errorf("problem %d = %v, want %s: %s: ...%s...", i, p, w.kind, w.path, w.detail)
		}
	}
	if res.OK() != (len(wants) == 0) {
		t.Errorf("OK() = %v with %d problems", res.OK(), len(res.Problems))
	}
}

func problemList(res *Result) string {
	var b strings.Builder
	for _, p := range res.Problems {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

const signins = "data/signins/2024-01-01.jsonl"

func TestVerifyDir(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   []want
	}{
		{"intact", func(t *testing.T, dir string) {}, nil},
		{"empty directory ignored", func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "data", "nothing"), 0o755)
		}, nil},
		{"signatures and custody log beside SHA256SUMS", func(t *testing.T, dir string) {
			for _, n := range []string{"SHA256SUMS.sig", "SHA256SUMS.tsr", "custody.log.jsonl"} {
				writeFile(t, dir, n, "x\n")
			}
		}, nil},
		{"planted minisign signature is added", func(t *testing.T, dir string) {
			writeFile(t, dir, "SHA256SUMS.minisig", "untrusted comment: x\n")
		}, []want{{"SHA256SUMS.minisig", ProblemAdded, "not a seal this tool writes or checks"}}},
		{"signature outside the root is added", func(t *testing.T, dir string) {
			writeFile(t, dir, "data/SHA256SUMS.sig", "x")
		}, []want{{"data/SHA256SUMS.sig", ProblemAdded, "not listed"}}},
		{"byte flipped in a record", func(t *testing.T, dir string) {
			flipByte(t, dir, signins, 10)
		}, []want{{signins, ProblemChanged, "in SHA256SUMS, file has"}}},
		{"file removed", func(t *testing.T, dir string) {
			remove(t, dir, "data/audit.jsonl")
		}, []want{{"data/audit.jsonl", ProblemMissing, "absent"}}},
		{"file added", func(t *testing.T, dir string) {
			writeFile(t, dir, "data/extra.jsonl", "{}\n")
		}, []want{{"data/extra.jsonl", ProblemAdded, "not listed"}}},
		{"file renamed", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, "data", "audit.jsonl"), filepath.Join(dir, "data", "audit2.jsonl"))
		}, []want{
			{"data/audit.jsonl", ProblemMissing, ""},
			{"data/audit2.jsonl", ProblemAdded, ""},
		}},
		{"empty file gains a line", func(t *testing.T, dir string) {
			writeFile(t, dir, "data/empty.jsonl", "{}\n")
		}, []want{{"data/empty.jsonl", ProblemChanged, ""}}},
		{"manifest size edited and re-hashed", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Files[0].Size++ })
		}, []want{{"README.txt", ProblemInconsistent, "size 55 in manifest.json, file has 54 bytes"}}},
		{"manifest entry dropped and re-hashed", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Files = m.Files[1:] })
		}, []want{{"README.txt", ProblemInconsistent, "in SHA256SUMS, not in manifest.json"}}},
		{"manifest sha256 edited and re-hashed", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Files[1].SHA256 = strings.Repeat("0", 64) })
		}, []want{{"data/audit.jsonl", ProblemInconsistent, "sha256 0000000000000000... in manifest.json"}}},
		{"manifest lists an extra file, re-hashed", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) {
				m.Files = append(m.Files, File{Path: "data/gone.jsonl", SHA256: strings.Repeat("1", 64)})
			})
		}, []want{
			{"data/gone.jsonl", ProblemInconsistent, "in manifest.json, not in SHA256SUMS"},
			{"data/gone.jsonl", ProblemMissing, "listed in manifest.json"},
		}},
		{"jsonl line removed, sums re-hashed, manifest unchanged", func(t *testing.T, dir string) {
			b := readFile(t, dir, signins)
			writeFile(t, dir, signins, string(b[bytes.IndexByte(b, '\n')+1:]))
			resum(t, dir)
		}, []want{{signins, ProblemInconsistent, "records 3 in manifest.json, file has 2 lines"}}},
		{"jsonl line removed, manifest hash and size fixed, records not", func(t *testing.T, dir string) {
			b := readFile(t, dir, signins)
			writeFile(t, dir, signins, string(b[bytes.IndexByte(b, '\n')+1:]))
			hw := hashFile(t, dir, signins)
			editManifest(t, dir, func(m *Manifest) {
				for i := range m.Files {
					if m.Files[i].Path == signins {
						m.Files[i].SHA256, m.Files[i].Size = hw.Sum(), hw.Size()
					}
				}
			})
		}, []want{{signins, ProblemInconsistent, "records 3 in manifest.json, file has 2 lines"}}},
		{"file added and re-hashed, not in manifest", func(t *testing.T, dir string) {
			writeFile(t, dir, "data/extra.jsonl", "{}\n")
			resum(t, dir)
		}, []want{{"data/extra.jsonl", ProblemInconsistent, "in SHA256SUMS, not in manifest.json"}}},
		{"manifest of another format", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Format = "evidence-manifest/0" })
		}, []want{{ManifestName, ProblemInconsistent, `format "evidence-manifest/0"`}}},
		{"manifest not json", func(t *testing.T, dir string) {
			writeFile(t, dir, ManifestName, "{")
			resum(t, dir)
		}, []want{{ManifestName, ProblemInconsistent, "does not parse"}}},
		{"manifest not listed in sums", func(t *testing.T, dir string) {
			var keep []string
			for _, l := range strings.SplitAfter(string(readFile(t, dir, SumsName)), "\n") {
				if !strings.HasSuffix(l, "  "+ManifestName+"\n") {
					keep = append(keep, l)
				}
			}
			writeFile(t, dir, SumsName, strings.Join(keep, ""))
		}, []want{{ManifestName, ProblemInconsistent, "not listed in SHA256SUMS"}}},
		{"manifest removed and sums re-hashed", func(t *testing.T, dir string) {
			remove(t, dir, ManifestName)
			resum(t, dir)
		}, []want{{ManifestName, ProblemMissing, "no manifest.json"}}},
		{"manifest byte flipped", func(t *testing.T, dir string) {
			b := readFile(t, dir, ManifestName)
			i := bytes.Index(b, []byte("CASE-42"))
			b[i] = 'X'
			writeFile(t, dir, ManifestName, string(b))
		}, []want{{ManifestName, ProblemChanged, ""}}},
		{"SHA256SUMS missing", func(t *testing.T, dir string) {
			remove(t, dir, SumsName)
		}, []want{{SumsName, ProblemMissing, "no file of the bundle can be verified (files present: 6,"}}},
		{"SHA256SUMS malformed", func(t *testing.T, dir string) {
			writeFile(t, dir, SumsName, string(readFile(t, dir, SumsName))+"\n")
		}, []want{{SumsName, ProblemInconsistent, "line 7: empty line"}}},
		{"symlink added", func(t *testing.T, dir string) {
			symlink(t, "/etc/passwd", filepath.Join(dir, "data", "passwd.jsonl"))
		}, []want{{"data/passwd.jsonl", ProblemUnsafe, "symbolic link"}}},
		{"listed file replaced by a symlink to an identical copy", func(t *testing.T, dir string) {
			copyPath := filepath.Join(t.TempDir(), "audit.jsonl")
			os.WriteFile(copyPath, readFile(t, dir, "data/audit.jsonl"), 0o644)
			remove(t, dir, "data/audit.jsonl")
			symlink(t, copyPath, filepath.Join(dir, "data", "audit.jsonl"))
		}, []want{{"data/audit.jsonl", ProblemUnsafe, "symbolic link"}}},
		{"symlinked directory not followed", func(t *testing.T, dir string) {
			symlink(t, filepath.Join(dir, "data"), filepath.Join(dir, "more"))
		}, []want{{"more", ProblemUnsafe, "symbolic link"}}},
		{"unreadable directory hides its files", func(t *testing.T, dir string) {
			if runtime.GOOS == "windows" || os.Getuid() == 0 {
				t.Skip("permissions do not stop this user (root or windows)")
			}
			p := filepath.Join(dir, "data", "signins")
			os.Chmod(p, 0)
			t.Cleanup(func() { os.Chmod(p, 0o755) })
		}, []want{{"data/signins", ProblemUnreadable, "permission denied"}}},
		{"unsafe file name", func(t *testing.T, dir string) {
			if runtime.GOOS == "windows" {
				t.Skip("backslash is a separator on windows")
			}
			writeFile(t, dir, `data\x.jsonl`, "")
		}, []want{{`data\x.jsonl`, ProblemUnsafe, "backslash"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testBundle(t)
			tt.tamper(t, dir)
			res, err := VerifyDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkProblems(t, res, tt.want)
		})
	}
}

func TestVerifyDirIntactCounts(t *testing.T) {
	dir := testBundle(t)
	res, err := VerifyDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, c := range bundleFiles {
		size += int64(len(c))
	}
	size += int64(len(readFile(t, dir, ManifestName)) + len(readFile(t, dir, SumsName)))
	if !res.OK() || res.Files != len(bundleFiles)+2 || res.Bytes != size {
		t.Errorf("got OK=%v Files=%d Bytes=%d, want true %d %d\n%s", res.OK(), res.Files, res.Bytes, len(bundleFiles)+2, size, problemList(res))
	}
	if res.Manifest == nil || res.Manifest.CaseID != "CASE-42" || len(res.Manifest.Files) != len(bundleFiles) {
		t.Errorf("Manifest = %+v", res.Manifest)
	}
}

// TestVerifyDirAnyByteFlip flips one byte in each file in turn.
func TestVerifyDirAnyByteFlip(t *testing.T) {
	names := append([]string{ManifestName}, bundleFilesOf(t, testBundle(t))...)
	for _, name := range names {
		if bundleFiles[name] == "" && name != ManifestName {
			continue // nothing to flip
		}
		t.Run(name, func(t *testing.T) {
			dir := testBundle(t)
			flipByte(t, dir, name, len(readFile(t, dir, name))/2)
			res, err := VerifyDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range res.Problems {
				if p.Path == name && p.Kind == ProblemChanged {
					found = true
				} else if p.Path != name && p.Path != ManifestName {
					t.Errorf("unexpected problem %v", p)
				}
			}
			if !found || res.OK() {
				t.Errorf("no changed problem on %s:\n%s", name, problemList(res))
			}
		})
	}
	t.Run(SumsName, func(t *testing.T) {
		dir := testBundle(t)
		flipByte(t, dir, SumsName, 5) // inside the first hash
		res, err := VerifyDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if res.OK() {
			t.Error("a flipped byte in SHA256SUMS went unnoticed")
		}
	})
}

func TestVerifyDirUnreadable(t *testing.T) {
	if runtime.GOOS == "windows" || os.Getuid() == 0 {
		t.Skip("permissions do not stop this user (root or windows)")
	}
	dir := testBundle(t)
	p := filepath.Join(dir, "data", "audit.jsonl")
	os.Chmod(p, 0)
	defer os.Chmod(p, 0o644)
	res, err := VerifyDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, res, []want{{"data/audit.jsonl", ProblemUnreadable, "permission denied"}})
}

func TestVerifyDirErrors(t *testing.T) {
	if _, err := VerifyDir(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("want an error for a missing directory")
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := VerifyDir(f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("err = %v, want not a directory", err)
	}
}

func TestVerifyDirThroughSymlinkedRoot(t *testing.T) {
	dir := testBundle(t)
	link := filepath.Join(t.TempDir(), "bundle")
	symlink(t, dir, link)
	res, err := VerifyDir(link)
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, res, nil)
}

// bundleVerifier feeds the files of dir to a new Verifier, in sorted order.
func bundleVerifier(t *testing.T, dir string) *Verifier {
	t.Helper()
	v := NewVerifier()
	for _, name := range append(bundleFilesOf(t, dir), ManifestName, SumsName) {
		if err := v.Add(name, bytes.NewReader(readFile(t, dir, name))); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func TestVerifierAdd(t *testing.T) {
	t.Run("unsafe names are refused unread", func(t *testing.T) {
		v := bundleVerifier(t, testBundle(t))
		for _, name := range []string{"../x", "/abs", "./README.txt", "a\nb"} {
			if err := v.Add(name, failingReader{}); err != nil {
				t.Errorf("Add(%q) = %v", name, err)
			}
		}
		checkProblems(t, v.Result(), []want{
			{"../x", ProblemUnsafe, "parent directory"},
			{"./README.txt", ProblemUnsafe, "clean form"},
			{"/abs", ProblemUnsafe, "absolute"},
			{"a\nb", ProblemUnsafe, "control character"},
		})
	})
	t.Run("duplicate", func(t *testing.T) {
		dir := testBundle(t)
		v := bundleVerifier(t, dir)
		v.Add("README.txt", strings.NewReader("other"))
		checkProblems(t, v.Result(), []want{{"README.txt", ProblemUnsafe, "twice"}})
	})
	t.Run("read error", func(t *testing.T) {
		v := NewVerifier()
		err := v.Add("a", failingReader{})
		if err == nil || !strings.Contains(err.Error(), "a: read: boom") {
			t.Errorf("err = %v", err)
		}
		if v.Result().Files != 0 {
			t.Error("a file that failed to read was recorded")
		}
	})
	t.Run("oversized manifest is not kept", func(t *testing.T) {
		v := NewVerifier()
		big := io.LimitReader(repeatReader('x'), maxMetaSize+1)
		if err := v.Add(ManifestName, big); err != nil {
			t.Fatal(err)
		}
		if v.manifest != nil && len(v.manifest) > 0 || !v.manifestTooBig {
			t.Errorf("kept %d bytes, tooBig=%v", len(v.manifest), v.manifestTooBig)
		}
		var buf bytes.Buffer
		WriteSums(&buf, []Sum{{ManifestName, v.files[ManifestName].sha256}})
		v.Add(SumsName, &buf)
		checkProblems(t, v.Result(), []want{{ManifestName, ProblemInconsistent, "larger than 64 MiB"}})
	})
}

func TestVerifierUnreadableDirectory(t *testing.T) {
	dir := testBundle(t)
	v := NewVerifier()
	for _, name := range append(bundleFilesOf(t, dir), ManifestName, SumsName) {
		if !strings.HasPrefix(name, "data/signins/") {
			v.Add(name, bytes.NewReader(readFile(t, dir, name)))
		}
	}
	v.Unreadable("data/signins", "permission denied")
	checkProblems(t, v.Result(), []want{{"data/signins", ProblemUnreadable, "permission denied"}})
}

func TestVerifierHalt(t *testing.T) {
	dir := testBundle(t)
	flipByte(t, dir, "README.txt", 0)
	v := NewVerifier()
	for _, name := range []string{"README.txt", SumsName} {
		v.Add(name, bytes.NewReader(readFile(t, dir, name)))
	}
	v.Halt("top/../x", "parent directory reference")
	if err := v.Add("data/audit.jsonl", strings.NewReader("")); err == nil {
		t.Error("Add after Halt succeeded")
	}
	// No missing or added findings: the walk stopped early.
	checkProblems(t, v.Result(), []want{
		{"README.txt", ProblemChanged, ""},
		{"top/../x", ProblemUnsafe, "verification stopped at this entry"},
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// TestVerifierCreate: files written in pieces through Create give what Add
// gives; a refused name is recorded once and its bytes ignored; a file never
// closed is not recorded; Create after Halt fails.
func TestVerifierCreate(t *testing.T) {
	dir := testBundle(t)
	flipByte(t, dir, "README.txt", 0)
	v := NewVerifier()
	for _, name := range append(bundleFilesOf(t, dir), ManifestName, SumsName) {
		w, err := v.Create(name)
		if err != nil || w.Refused() {
			t.Fatalf("Create(%q) = %v, refused %v", name, err, w.Refused())
		}
		b := readFile(t, dir, name)
		for len(b) > 0 { // in pieces of 7 bytes
			k := min(7, len(b))
			w.Write(b[:k])
			b = b[k:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	dup := bundleFilesOf(t, dir)[0]
	if dup == "README.txt" {
		dup = bundleFilesOf(t, dir)[1]
	}
	for _, name := range []string{"../x", dup} {
		w, err := v.Create(name)
		if err != nil || !w.Refused() {
			t.Fatalf("Create(%q) = %v, refused %v", name, err, w.Refused())
		}
		w.Write([]byte("ignored"))
		w.Close()
	}
	if w, err := v.Create("data/never-closed.jsonl"); err != nil {
		t.Fatal(err)
	} else {
		w.Write([]byte("x\n"))
	}
	got := v.Result()
	checkProblems(t, got, []want{
		{"../x", ProblemUnsafe, "parent directory"},
		{"README.txt", ProblemChanged, ""},
		{dup, ProblemUnsafe, "twice"},
	})
	want := bundleVerifier(t, dir).Result()
	if got.Files != want.Files || got.Bytes != want.Bytes {
		t.Errorf("Create: %d files, %d bytes; Add: %d files, %d bytes", got.Files, got.Bytes, want.Files, want.Bytes)
	}
	v.Halt("top/../y", "parent directory reference")
	if _, err := v.Create("data/audit.jsonl"); err == nil {
		t.Error("Create after Halt succeeded")
	}
}
