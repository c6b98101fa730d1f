package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	hashA = "0000000000000000000000000000000000000000000000000000000000000000"
	hashB = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
)

func TestWriteSums(t *testing.T) {
	var buf bytes.Buffer
	err := WriteSums(&buf, []Sum{
		{Path: "manifest.json", SHA256: hashA},
		{Path: "data/b.jsonl", SHA256: hashB},
		{Path: "README.txt", SHA256: hashB},
		{Path: "data/a b:é.jsonl", SHA256: hashA},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := hashB + "  README.txt\n" +
		hashA + "  data/a b:é.jsonl\n" +
		hashB + "  data/b.jsonl\n" +
		hashA + "  manifest.json\n"
	if buf.String() != want {
		t.Errorf("WriteSums =\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestWriteSumsRefuses(t *testing.T) {
	tests := []struct {
		name string
		sums []Sum
		want string
	}{
		{"empty path", []Sum{{"", hashA}}, "empty path"},
		{"absolute", []Sum{{"/etc/passwd", hashA}}, "absolute"},
		{"parent", []Sum{{"data/../x", hashA}}, "parent directory"},
		{"parent only", []Sum{{"..", hashA}}, "parent directory"},
		{"backslash", []Sum{{`data\x`, hashA}}, "backslash"},
		{"newline", []Sum{{"a\nb", hashA}}, "control character"},
		{"carriage return", []Sum{{"a\r", hashA}}, "control character"},
		{"nul", []Sum{{"a\x00b", hashA}}, "control character"},
		{"dot slash", []Sum{{"./a", hashA}}, "clean form"},
		{"dot", []Sum{{".", hashA}}, "clean form"},
		{"double slash", []Sum{{"a//b", hashA}}, "clean form"},
		{"trailing slash", []Sum{{"a/", hashA}}, "clean form"},
		{"invalid utf8", []Sum{{"a\xff", hashA}}, "UTF-8"},
		{"duplicate", []Sum{{"a", hashA}, {"b", hashA}, {"a", hashB}}, "twice"},
		{"short hash", []Sum{{"a", hashA[1:]}}, "64 lowercase hex"},
		{"upper hash", []Sum{{"a", strings.ToUpper(hashB)}}, "64 lowercase hex"},
		{"non hex", []Sum{{"a", "g" + hashA[1:]}}, "64 lowercase hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteSums(&buf, tt.sums)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q despite the error", buf.String())
			}
		})
	}
}

func TestParseSums(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Sum
		wantErr string
	}{
		{"empty file", "", nil, ""},
		{"two lines", hashA + "  a\n" + hashB + "  dir/b c\n", []Sum{{"a", hashA}, {"dir/b c", hashB}}, ""},
		{"binary marker", hashA + " *a\n", []Sum{{"a", hashA}}, ""},
		{"no final newline", hashA + "  a", []Sum{{"a", hashA}}, ""},
		{"upper case hex", strings.ToUpper(hashB) + "  a\n", []Sum{{"a", hashB}}, ""},
		{"path with leading space kept", hashA + "   a\n", []Sum{{" a", hashA}}, ""},
		{"blank line", hashA + "  a\n\n", nil, "line 2: empty line"},
		{"crlf", hashA + "  a\r\n", nil, "line 1: path \"a\\r\": contains a control character"},
		{"one space", hashA + " abc\n", nil, "line 1: hash must be followed"},
		{"tab", hashA + "\ta\n", nil, "line 1"},
		{"short hash", hashA[2:] + "  abc\n", nil, "line 1"},
		{"non hex", "z" + hashA[1:] + "  a\n", nil, "line 1: \"z000"},
		{"bsd format", "SHA256 (a) = " + hashA + "\n", nil, "line 1"},
		{"absolute", hashA + "  a\n" + hashA + "  /a\n", nil, "line 2: path \"/a\": absolute"},
		{"parent", hashA + "  ../a\n", nil, "parent directory"},
		{"gnu escaped name", "\\" + hashA + "  a\\nb\n", nil, "line 1"},
		{"dot slash", hashA + "  ./a\n", nil, "clean form"},
		{"duplicate", hashA + "  a\n" + hashB + "  b\n" + hashB + "  a\n", nil, "line 3: path \"a\" already listed on line 1"},
		{"line too long", hashA + "  " + strings.Repeat("a", maxSumsLine) + "\n", nil, "line 1: longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSums(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseSums = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSumsRoundTrip(t *testing.T) {
	in := []Sum{{"b", hashA}, {"a/c.jsonl", hashB}, {"A", hashB}}
	var buf bytes.Buffer
	if err := WriteSums(&buf, in); err != nil {
		t.Fatal(err)
	}
	got, err := ParseSums(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := []Sum{{"A", hashB}, {"a/c.jsonl", hashB}, {"b", hashA}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip = %v, want %v", got, want)
	}
}

// TestSumsWithSha256sum checks a WriteSums file with the real sha256sum -c.
func TestSumsWithSha256sum(t *testing.T) {
	bin, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("sha256sum not installed; cannot check compatibility with stock tools")
	}
	dir := t.TempDir()
	files := map[string]string{
		"README.txt":             "hello\n",
		"data/signins.jsonl":     "{\"id\":1}\n{\"id\":2}\n",
		"data/x y/a:b.jsonl":     "",
		"manifest.json":          "{}",
		"requests.jsonl":         "{\"url\":\"https://graph.microsoft.com/v1.0/auditLogs/signIns?$top=1\"}\n",
		"data/2024-01-01T00.bin": "\x00\x01\x02",
	}
	var sums []Sum
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256([]byte(content))
		sums = append(sums, Sum{Path: name, SHA256: hex.EncodeToString(h[:])})
	}
	var buf bytes.Buffer
	if err := WriteSums(&buf, sums); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, SumsName), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func() (string, error) {
		cmd := exec.Command(bin, "-c", "--strict", SumsName)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := check(); err != nil {
		t.Fatalf("sha256sum -c failed on an intact bundle: %v\n%s", err, out)
	}

	// Flip one byte of one file: sha256sum -c must fail and name it.
	p := filepath.Join(dir, "data", "signins.jsonl")
	b, _ := os.ReadFile(p)
	b[3] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := check()
	if err == nil {
		t.Fatalf("sha256sum -c passed after a byte flip:\n%s", out)
	}
	if !strings.Contains(out, "data/signins.jsonl: FAILED") {
		t.Errorf("sha256sum output does not name the changed file:\n%s", out)
	}
}
