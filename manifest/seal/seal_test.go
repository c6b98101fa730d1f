package seal_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/evidence-dfir/evidence/manifest/seal/tsatest"
)

func newKey(t *testing.T) (string, seal.Signer) {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "k")
	if _, err := seal.GenerateKey(prefix, []byte("correct horse"), "test"); err != nil {
		t.Fatal(err)
	}
	s, err := seal.LoadSigningKey(prefix+".key", func() ([]byte, error) { return []byte("correct horse"), nil })
	if err != nil {
		t.Fatal(err)
	}
	return prefix, s
}

func TestGenerateKeyRefusesOverwrite(t *testing.T) {
	prefix, _ := newKey(t)
	before, _ := os.ReadFile(prefix + ".key")
	if _, err := seal.GenerateKey(prefix, []byte("x"), ""); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("overwrite: err %v", err)
	}
	after, _ := os.ReadFile(prefix + ".key")
	if !bytes.Equal(before, after) {
		t.Fatal("the key was changed")
	}
	fi, _ := os.Stat(prefix + ".key")
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", fi.Mode().Perm())
	}
	// Only the .pub existing is enough to refuse, and nothing is written.
	p2 := filepath.Join(t.TempDir(), "p")
	os.WriteFile(p2+".pub", []byte("x"), 0o644)
	if _, err := seal.GenerateKey(p2, []byte("x"), ""); err == nil {
		t.Fatal("wrote a key beside an existing .pub")
	}
	if _, err := os.Stat(p2 + ".key"); err == nil {
		t.Fatal(".key written although .pub existed")
	}
}

func TestLoadSigningKeyRefusals(t *testing.T) {
	prefix, _ := newKey(t)
	key := prefix + ".key"
	_, err := seal.LoadSigningKey(key, func() ([]byte, error) { return []byte("wrong"), nil })
	if !errors.Is(err, seal.ErrWrongPassphrase) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		os.Chmod(key, mode)
		_, err := seal.LoadSigningKey(key, func() ([]byte, error) { t.Fatal("asked for a passphrase"); return nil, nil })
		var kfe *seal.KeyFileError
		if !errors.As(err, &kfe) || !strings.Contains(err.Error(), "group or others") {
			t.Fatalf("mode %v: %v", mode, err)
		}
	}
	// An ssh-keygen key of another type is refused by name.
	if _, err := exec.LookPath("ssh-keygen"); err == nil {
		p := filepath.Join(t.TempDir(), "ecdsa")
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", p).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		if _, err := seal.LoadSigningKey(p, nil); err == nil || !strings.Contains(err.Error(), "Ed25519") {
			t.Fatalf("ecdsa key: %v", err)
		}
	}
}

func TestSignatureVerify(t *testing.T) {
	prefix, s := newKey(t)
	_, other := newKey(t)
	msg := []byte("abc  x\n")
	sig, err := seal.SignBytes(msg, s, seal.SignatureNamespace)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := seal.ReadPublicKeys(prefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if c := seal.VerifySignature(msg, sig, seal.SignatureNamespace, trusted); !c.Valid || !c.Trusted {
		t.Fatalf("good signature: %+v", c)
	}
	if c := seal.VerifySignature(append(msg, 'y'), sig, seal.SignatureNamespace, trusted); c.Valid {
		t.Fatalf("changed message verified: %+v", c)
	}
	if c := seal.VerifySignature(msg, sig, seal.CustodyNamespace, trusted); c.Valid {
		t.Fatal("signature accepted in another namespace")
	}
	osig, _ := seal.SignBytes(msg, other, seal.SignatureNamespace)
	if c := seal.VerifySignature(msg, osig, seal.SignatureNamespace, trusted); !c.Valid || c.Trusted {
		t.Fatalf("other key: %+v", c)
	}
	// allowed_signers lines parse too.
	pub, _ := os.ReadFile(prefix + ".pub")
	ks, err := seal.ParsePublicKeys([]byte("# comment\nalice@ir namespaces=\"evidence\" " + string(pub)))
	if err != nil || len(ks) != 1 || seal.Fingerprint(ks[0]) != seal.Fingerprint(s.PublicKey()) {
		t.Fatalf("allowed_signers: %v %v", ks, err)
	}
}

// TestTimestampLocalTSA: a real HTTP round trip to a local TSA; the token
// verifies here and with `openssl ts -verify`.
func TestTimestampLocalTSA(t *testing.T) {
	tsa, err := tsatest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer tsa.Close()
	msg := []byte("0123  manifest.json\n")
	tsr, err := seal.RequestTimestamp(context.Background(), nil, tsa.URL, msg)
	if err != nil {
		t.Fatal(err)
	}
	c := seal.VerifyTimestamp(tsr, msg, []*x509.Certificate{tsa.CA})
	if !c.Valid || !c.Trusted || c.Time == "" {
		t.Fatalf("%+v", c)
	}
	if ts, _ := time.Parse(time.RFC3339Nano, c.Time); time.Since(ts) > time.Minute {
		t.Fatalf("time %s", c.Time)
	}
	if c := seal.VerifyTimestamp(tsr, append(msg, 'x'), []*x509.Certificate{tsa.CA}); c.Valid {
		t.Fatal("a time-stamp of other bytes verified")
	}
	if c := seal.VerifyTimestamp(tsr, msg, nil); !c.Valid || c.Trusted {
		t.Fatalf("without the root: %+v", c)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "data"), msg, 0o644)
	os.WriteFile(filepath.Join(dir, "data.tsr"), tsr, 0o644)
	os.WriteFile(filepath.Join(dir, "ca.pem"), tsa.CAPEM, 0o644)
	needTool(t, "openssl")
	cmd := exec.Command("openssl", "ts", "-verify", "-data", "data", "-in", "data.tsr", "-CAfile", "ca.pem")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
}

// needTool fails under CI (which installs every tool) and skips elsewhere.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed: .ci/run must install it", name)
		}
		t.Skipf("%s not installed", name)
	}
}

func TestCustodyChain(t *testing.T) {
	_, s := newKey(t)
	sums := []byte("aa  x\n")
	p := filepath.Join(t.TempDir(), "custody.log.jsonl")
	at := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	err := seal.StartCustody(p, sums, s,
		manifest.CustodyEvent{Time: at, Actor: "alice", Host: "h", Action: manifest.ActionCollected},
		manifest.CustodyEvent{Time: at, Actor: "alice", Host: "h", Action: manifest.ActionSealed})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seal.AppendCustody(p, manifest.CustodyEvent{Actor: "bob", Host: "h2", Action: manifest.ActionTransferred, Details: map[string]string{"to": "SOC team"}}, s); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.AppendCustody(p, manifest.CustodyEvent{Actor: "bob", Action: "stolen"}, s); err == nil {
		t.Fatal("unknown action accepted")
	}
	log, _ := os.ReadFile(p)
	c := seal.VerifyCustody("log", log, nil, sums, []seal.PublicKey{s.PublicKey()})
	if len(c.Problems) != 0 || len(c.Entries) != 3 || !c.Entries[2].Trusted || c.Entries[2].Details["to"] != "SOC team" {
		t.Fatalf("intact chain: %+v", c)
	}
	lines := bytes.SplitAfter(log, []byte("\n"))[:3]
	swap := bytes.Join([][]byte{lines[0], lines[2], lines[1]}, nil)
	edit := bytes.Replace(log, []byte("SOC team"), []byte("SOC tean"), 1)
	drop := bytes.Join([][]byte{lines[0], lines[2]}, nil)
	for name, tc := range map[string]struct {
		log, sums []byte
		want      string
	}{
		"reordered":    {swap, sums, "entry 2"},
		"edited":       {edit, sums, "entry 3"},
		"removed":      {drop, sums, "entry 2"},
		"another seal": {log, []byte("bb  x\n"), "entry 1"},
	} {
		c := seal.VerifyCustody("log", tc.log, nil, tc.sums, nil)
		if len(c.Problems) == 0 || !strings.Contains(c.Problems[0].Detail, tc.want) {
			t.Errorf("%s: problems %+v, want one naming %s", name, c.Problems, tc.want)
		}
	}
	// A log beside an archive must continue the one inside.
	if c := seal.VerifyCustody("ext", log, lines[0], sums, nil); len(c.Problems) != 0 {
		t.Fatalf("continuation: %+v", c.Problems)
	}
	if c := seal.VerifyCustody("ext", swap, bytes.Join(lines[:2], nil), sums, nil); len(c.Problems) == 0 {
		t.Fatal("a reordered continuation verified")
	}
}

// TestGenerateKeyMakesItsDirectory: `evidence keygen --out ~/.evidence/alice`
// on a fresh machine (no ~/.evidence) writes the key into a new directory
// only its owner can read.
func TestGenerateKeyMakesItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".evidence")
	if _, err := seal.GenerateKey(filepath.Join(dir, "alice"), []byte("x"), ""); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("the new key directory has mode %v, want 0700", fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, "alice.key")); err != nil {
		t.Error(err)
	}
}
