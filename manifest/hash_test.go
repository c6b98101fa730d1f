package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestHashWriter(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		lines  int64
	}{
		{"empty", nil, 0},
		{"one line", []string{"{\"a\":1}\n"}, 1},
		{"no final newline", []string{"a\nb"}, 1},
		{"split across writes", []string{"{\"a\":", "1}\n{\"b\"", ":2}\n", "\n"}, 3},
		{"large", []string{strings.Repeat("x\n", 300_000)}, 300_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			hw := NewHashWriter(&out)
			for _, c := range tt.chunks {
				n, err := hw.Write([]byte(c))
				if err != nil || n != len(c) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			all := strings.Join(tt.chunks, "")
			want := sha256.Sum256([]byte(all))
			if got := hw.Sum(); got != hex.EncodeToString(want[:]) {
				t.Errorf("Sum = %s, want %x", got, want)
			}
			if hw.Size() != int64(len(all)) {
				t.Errorf("Size = %d, want %d", hw.Size(), len(all))
			}
			if hw.Lines() != tt.lines {
				t.Errorf("Lines = %d, want %d", hw.Lines(), tt.lines)
			}
			if out.String() != all {
				t.Errorf("underlying writer got %d bytes, want %d", out.Len(), len(all))
			}
			if hw.Sum() != hw.Sum() {
				t.Error("Sum is not repeatable")
			}
		})
	}
}

func TestHashWriterNilDiscards(t *testing.T) {
	hw := NewHashWriter(nil)
	if _, err := io.WriteString(hw, "abc\n"); err != nil {
		t.Fatal(err)
	}
	if hw.Sum() != "edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb" || hw.Size() != 4 || hw.Lines() != 1 {
		t.Errorf("got %s %d %d", hw.Sum(), hw.Size(), hw.Lines())
	}
}

// shortWriter accepts only the first n bytes, then fails.
type shortWriter struct{ n int }

func (w *shortWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestHashWriterCountsOnlyWrittenBytes(t *testing.T) {
	hw := NewHashWriter(&shortWriter{n: 3})
	n, err := hw.Write([]byte("ab\ncd\n"))
	if err == nil || n != 3 {
		t.Fatalf("Write = %d, %v; want 3 and an error", n, err)
	}
	want := sha256.Sum256([]byte("ab\n"))
	if hw.Sum() != hex.EncodeToString(want[:]) || hw.Size() != 3 || hw.Lines() != 1 {
		t.Errorf("got %s %d %d, want the hash of the 3 written bytes", hw.Sum(), hw.Size(), hw.Lines())
	}
}

func BenchmarkHashWriter(b *testing.B) {
	chunk := bytes.Repeat([]byte(`{"id":"0000","createdDateTime":"2024-01-01T00:00:00Z"}`+"\n"), 4096)
	b.SetBytes(int64(len(chunk)))
	hw := NewHashWriter(io.Discard)
	for b.Loop() {
		hw.Write(chunk)
	}
}
