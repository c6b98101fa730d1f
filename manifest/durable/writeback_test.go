package durable

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteback: the writeback starts each time the file has grown by
// WritebackEvery since the last start, and follows a truncation; the
// bytes written through WritebackWriter are the file's.
func TestWriteback(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w Writeback
	for _, c := range []struct{ size, started int64 }{
		{WritebackEvery - 1, 0},
		{WritebackEvery, WritebackEvery},
		{2*WritebackEvery - 1, WritebackEvery},
		{WritebackEvery / 2, WritebackEvery / 2}, // truncated
		{WritebackEvery/2 + WritebackEvery, WritebackEvery/2 + WritebackEvery},
	} {
		w.At(f, c.size)
		if w.started != c.started {
			t.Errorf("at %d: writeback started to %d, want %d", c.size, w.started, c.started)
		}
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), (WritebackEvery*2+12345)/16)
	ww := WritebackWriter(f, f)
	for b := want; len(b) > 0; {
		n := min(len(b), 1<<20+7)
		if _, err := ww.Write(b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("file differs from what was written (%d bytes, want %d): %v", len(got), len(want), err)
	}
	if WritebackWriter(f, nil) != any(f) {
		t.Error("WritebackWriter without a file is not the writer itself")
	}
}
