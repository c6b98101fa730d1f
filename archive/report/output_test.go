package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutput: the page of an existing bundle is never written inside it;
// its links reach the bundle's files from where it is written; "-" is
// stdout.
func TestOutput(t *testing.T) {
	root := t.TempDir()
	bundle := filepath.Join(root, "evidence-20261205T061048Z-3c2c65ce")
	if err := os.Mkdir(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := RefuseInside(filepath.Join(bundle, "report.html"), bundle); err == nil || !strings.Contains(err.Error(), "inside the bundle") {
		t.Errorf("inside: %v", err)
	}
	page := filepath.Join(root, "pages", "r.html")
	if err := RefuseInside(page, bundle); err != nil {
		t.Errorf("outside: %v", err)
	}
	if got := LinkPrefix(page, "x", bundle); got != "./../evidence-20261205T061048Z-3c2c65ce/" {
		t.Errorf("LinkPrefix = %q", got)
	}
	if got := LinkPrefix("-", "x", bundle); !strings.HasPrefix(got, "file://") {
		t.Errorf("LinkPrefix(-) = %q", got)
	}
	var stdout bytes.Buffer
	if p, err := WriteOut("-", "x", []byte("page"), &stdout); err != nil || p != "" || stdout.String() != "page" {
		t.Errorf("WriteOut(-) = %q, %v, %q", p, err, stdout.String())
	}
	if p, err := WriteOut(filepath.Join(root, "r.html"), "x", []byte("page"), &stdout); err != nil || p != filepath.Join(root, "r.html") {
		t.Errorf("WriteOut = %q, %v", p, err)
	}
}
