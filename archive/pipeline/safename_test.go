package pipeline

import (
	"strings"
	"testing"
)

// TestSafeName: the one sanitiser of file names taken from outside (an
// --attach file, an imported portal download) keeps ASCII letters, digits,
// '.', '-' and '_', never yields a path or a hidden file, and stays within
// 100 bytes keeping the extension.
func TestSafeName(t *testing.T) {
	long := strings.Repeat("a", 150) + ".eml"
	for in, want := range map[string]string{
		"InteractiveSignIns_2026-11-01_2026-11-30.csv": "InteractiveSignIns_2026-11-01_2026-11-30.csv",
		"../../etc/passwd":        "_.._etc_passwd",
		"メール 1.eml":               "____1.eml",
		"a:b\\c.txt":              "a_b_c.txt",
		"":                        "file",
		"...":                     "file",
		long:                      strings.Repeat("a", 96) + ".eml",
		".hidden":                 "hidden",
		"C:\\Users\\x\\phish.msg": "C__Users_x_phish.msg",
	} {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}
