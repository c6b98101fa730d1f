package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/manifest"
)

func TestVerifyTarZst(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   []manifest.Problem // Detail is matched as a substring
	}{
		{"intact", func(*testing.T, string) {}, nil},
		{"flipped byte in a file", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "data", "signins", "2024-01-01.jsonl")
			b, _ := os.ReadFile(p)
			b[8] ^= 0x01
			os.WriteFile(p, b, 0o644)
		}, []manifest.Problem{{Path: "data/signins/2024-01-01.jsonl", Kind: manifest.ProblemChanged}}},
		{"file removed", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "data", "audit.jsonl"))
		}, []manifest.Problem{{Path: "data/audit.jsonl", Kind: manifest.ProblemMissing}}},
		{"file added", func(t *testing.T, dir string) {
			writeFile(t, dir, "data/zz.jsonl", []byte("{}\n"))
		}, []manifest.Problem{{Path: "data/zz.jsonl", Kind: manifest.ProblemAdded}}},
		{"line removed, resealed sums only", func(t *testing.T, dir string) {
			writeFile(t, dir, "data/signins/2024-01-01.jsonl", []byte("{\"id\":\"a\"}\n{\"id\":\"b\"}\n"))
			keep, _ := os.ReadFile(filepath.Join(dir, manifest.ManifestName))
			seal(t, dir) // recomputes everything, manifest included ...
			writeFile(t, dir, manifest.ManifestName, keep)
			resumOnly(t, dir) // ... then puts the old manifest back and re-hashes it
		}, []manifest.Problem{{Path: "data/signins/2024-01-01.jsonl", Kind: manifest.ProblemInconsistent, Detail: "records 3 in manifest.json, file has 2 lines"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testBundle(t)
			tt.tamper(t, dir)
			res, err := VerifyTarZst(writeArchive(t, archiveBytes(t, dir, "top", testMtime)))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Problems) != len(tt.want) {
				t.Fatalf("problems %v, want %v", res.Problems, tt.want)
			}
			for i, w := range tt.want {
				p := res.Problems[i]
				if p.Path != w.Path || p.Kind != w.Kind || !strings.Contains(p.Detail, w.Detail) {
					t.Errorf("problem %v, want %v", p, w)
				}
			}
			if res.OK() != (len(tt.want) == 0) {
				t.Errorf("OK() = %v", res.OK())
			}
		})
	}
}

// resumOnly rewrites SHA256SUMS from the files of dir, leaving manifest.json.
func resumOnly(t *testing.T, dir string) {
	t.Helper()
	var sums []manifest.Sum
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == manifest.SumsName {
			return nil
		}
		b, _ := os.ReadFile(p)
		hw := manifest.NewHashWriter(nil)
		hw.Write(b)
		sums = append(sums, manifest.Sum{Path: rel, SHA256: hw.Sum()})
		return nil
	})
	f, err := os.Create(filepath.Join(dir, manifest.SumsName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := manifest.WriteSums(f, sums); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyTarZstUnsafe(t *testing.T) {
	for _, tt := range maliciousArchives {
		t.Run(tt.name, func(t *testing.T) {
			res, err := VerifyTarZst(writeArchive(t, craft(t, tt.entries...)))
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() {
				t.Fatal("unsafe archive verified OK")
			}
			found := false
			for _, p := range res.Problems {
				if p.Kind == manifest.ProblemUnsafe && (p.Path == tt.unsafe || tt.unsafe == "") && strings.Contains(p.Detail, tt.why) {
					found = true
				} else if p.Kind != manifest.ProblemChanged {
					t.Errorf("unexpected problem %v", p)
				}
			}
			if !found {
				t.Errorf("no unsafe problem naming %q: %v", tt.unsafe, res.Problems)
			}
		})
	}
}

func TestVerifyTarZstMissingFile(t *testing.T) {
	_, err := VerifyTarZst(filepath.Join(t.TempDir(), "nope.tar.zst"))
	if err == nil {
		t.Error("want an error")
	}
}

// verifySequential is VerifyReader with each file hashed in the walk's own
// goroutine: the reference the piped reader must match.
func verifySequential(r io.Reader) (*manifest.Result, error) {
	v := manifest.NewVerifier()
	err := Walk(r, func(name string, r io.Reader) error { return v.Add(name, r) })
	var unsafe *UnsafeEntryError
	switch {
	case errors.As(err, &unsafe):
		v.Halt(unsafe.Name, unsafe.Why)
	case err != nil:
		return nil, err
	}
	return v.Result(), nil
}

// TestVerifyReaderAsSequential: an archive cut short or with a byte
// flipped anywhere, and every unsafe archive, give the same result or error
// with hashing in its own goroutine as with hashing in the walk's.
func TestVerifyReaderAsSequential(t *testing.T) {
	dir := testBundle(t)
	writeFile(t, dir, "data/big.jsonl", bytes.Repeat([]byte("{\"id\":\"0123456789abcdef\"}\n"), 40000))
	seal(t, dir)
	good := archiveBytes(t, dir, "top", testMtime)
	cases := map[string][]byte{"intact": good}
	for _, tt := range maliciousArchives {
		cases["unsafe "+tt.name] = craft(t, tt.entries...)
	}
	for i := 1; i < 24; i++ {
		at := len(good) * i / 24
		cases[fmt.Sprintf("cut at %d", at)] = good[:at]
		flipped := bytes.Clone(good)
		flipped[at] ^= 0x40
		cases[fmt.Sprintf("flip at %d", at)] = flipped
	}
	errs := 0
	for name, b := range cases {
		want, wantErr := verifySequential(bytes.NewReader(b))
		if wantErr != nil {
			errs++
		}
		got, err := VerifyReader(bytes.NewReader(b))
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Errorf("%s: error %v, want %v", name, err, wantErr)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: result %+v, want %+v", name, got, want)
		}
		if name == "intact" && (got == nil || !got.OK()) {
			t.Errorf("intact archive: %+v", got)
		}
	}
	if errs < 23 {
		t.Errorf("only %d damaged archives failed to read; the cases do not test the error path", errs)
	}
}
