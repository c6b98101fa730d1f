package manifest_test

import (
	"os/exec"
	"strings"
	"testing"
)

// goList runs `go list` from the module root with args and returns its
// output lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to list dependencies: %v", err)
	}
	cmd := exec.Command(goTool, append([]string{"list"}, args...)...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.Fields(string(out))
}

// TestManifestIsStandardLibraryOnly keeps package manifest a leaf: the
// schema, accounting, hashing and SHA256SUMS need nothing beyond the
// standard library, so whatever imports them for accounting links no
// third-party code through them.
func TestManifestIsStandardLibraryOnly(t *testing.T) {
	lines := goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./manifest")
	for _, p := range lines {
		if p != "github.com/evidence-dfir/evidence/manifest" {
			t.Errorf("package manifest depends on %s; only the standard library is allowed", p)
		}
	}
}

// TestCollectLinksNoSealingCrypto checks that collection does not link the
// signing and time-stamp crypto of package manifest/seal (SSHSIG, OpenSSH
// keys, RFC 3161): collecting needs the manifest's accounting types only.
func TestCollectLinksNoSealingCrypto(t *testing.T) {
	lines := goList(t, "-deps", "./collect/...")
	if len(lines) < 10 {
		t.Fatalf("go list -deps ./collect/... listed %d packages; the check would prove nothing", len(lines))
	}
	seen := false
	for _, p := range lines {
		if p == "github.com/evidence-dfir/evidence/manifest" {
			seen = true
		}
		for _, banned := range []string{
			"github.com/evidence-dfir/evidence/manifest/seal",
			"golang.org/x/crypto/ssh",
			"github.com/hiddeco/sshsig",
			"github.com/digitorus/timestamp",
			"github.com/digitorus/pkcs7",
		} {
			if p == banned || strings.HasPrefix(p, banned+"/") {
				t.Errorf("collect/... links %s", p)
			}
		}
	}
	if !seen {
		t.Error("collect/... does not list package manifest; the check no longer looks where it should")
	}
}
