package archive

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// cancelsAfter is a context whose Err turns to context.Canceled after n
// calls: a Ctrl-C that lands while the n-th entry is being archived.
type cancelsAfter struct {
	context.Context
	n int
}

func (c *cancelsAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestWriteTarZstStopsAtFileBoundary: a cancelled Options.Context stops the
// archive before the next entry, not after the last one, with the
// context's error; a live one changes nothing in the bytes.
func TestWriteTarZstStopsAtFileBoundary(t *testing.T) {
	dir := testBundle(t)
	whole := archiveBytes(t, dir, "CASE-7_20240501", testMtime)
	var buf bytes.Buffer
	if err := WriteTarZstOptions(&buf, dir, "CASE-7_20240501", testMtime, Options{Context: context.Background()}); err != nil || !bytes.Equal(buf.Bytes(), whole) {
		t.Fatalf("a live context: err %v, same bytes %v", err, bytes.Equal(buf.Bytes(), whole))
	}
	_, entries, err := listDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 2} {
		err := WriteTarZstOptions(&bytes.Buffer{}, dir, "CASE-7_20240501", testMtime, Options{Context: &cancelsAfter{context.Background(), n}})
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped before "+entries[n].rel) {
			t.Errorf("cancelled after %d entries: %v, want it stopped before %s", n, err, entries[n].rel)
		}
	}
}
