package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

func loadTestSigner(t *testing.T, prefix string) seal.Signer {
	t.Helper()
	s, err := seal.LoadSigningKey(prefix+".key", func() ([]byte, error) { return []byte(testPassphrase), nil })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reseal does what an attacker holding the bundle but not the collector's
// key can: change a record, recompute every hash the change touches, name
// their own key in manifest.json, sign SHA256SUMS with it and restart the
// custody log signed by it. Every hash and signature then verifies.
func reseal(t *testing.T, dir string, s seal.Signer) {
	t.Helper()
	rec := "signins/interactive.jsonl"
	b, err := os.ReadFile(filepath.Join(dir, rec))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), `"ipAddress":"`) + len(`"ipAddress":"`)
	b[i] = map[bool]byte{true: '2', false: '1'}[b[i] == '1']
	os.WriteFile(filepath.Join(dir, rec), b, 0o644)
	rehash(t, dir, rec, true)
	m := readManifest(t, dir)
	m.Seal.KeyFingerprint = seal.Fingerprint(s.PublicKey())
	mb, err := manifest.Canonical(m)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, manifest.ManifestName), mb, 0o644)
	rehash(t, dir, manifest.ManifestName, false)
	os.Remove(filepath.Join(dir, manifest.SigName))
	if err := seal.SignSums(dir, s); err != nil {
		t.Fatal(err)
	}
	sums, _ := os.ReadFile(filepath.Join(dir, manifest.SumsName))
	os.Remove(filepath.Join(dir, manifest.CustodyLogName))
	if err := seal.StartCustody(filepath.Join(dir, manifest.CustodyLogName), sums, s,
		manifest.CustodyEvent{Actor: "mallory", Host: "h", Action: manifest.ActionCollected},
		manifest.CustodyEvent{Actor: "mallory", Host: "h", Action: manifest.ActionSealed}); err != nil {
		t.Fatal(err)
	}
}

// sshKeygenAccepts runs what docs/verify.md tells a reader without
// evidence to run: find the principal the allowed_signers file gives the
// signing key, then ssh-keygen -Y verify SHA256SUMS as that principal.
func sshKeygenAccepts(t *testing.T, dir, signers string) bool {
	t.Helper()
	sig := filepath.Join(dir, manifest.SigName)
	out, err := exec.Command("ssh-keygen", "-Y", "find-principals", "-s", sig, "-f", signers).Output()
	if err != nil {
		return false
	}
	principal := strings.Fields(string(out))[0]
	cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", signers, "-I", principal, "-n", seal.SignatureNamespace, "-s", sig)
	sums, _ := os.Open(filepath.Join(dir, manifest.SumsName))
	defer sums.Close()
	cmd.Stdin = sums
	return cmd.Run() == nil
}

func verifyTrust(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	code, out, stderr := invoke(t, env, append([]string{"verify", "--json"}, args...)...)
	var js struct {
		Seal *seal.Report `json:"seal"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil || js.Seal == nil {
		t.Fatalf("verify --json %v: exit %d, %v\n%s%s", args, code, err, out, stderr)
	}
	return code, js.Seal.Trust
}

// TestTrustedKeysAgreeWithSSHKeygen: evidence verify --trusted-keys FILE
// and ssh-keygen -Y verify -f FILE accept and refuse the same bundles, for
// the same allowed_signers files: the collector's bundle, the bundle
// re-sealed by another key, and lines that restrict the collector's key
// (another namespace, a validity that ended). The re-sealed bundle exits 5
// with --trusted-keys, EVIDENCE_TRUSTED_KEYS and --pubkey alike, and is
// reported SELF-SIGNED without trusted keys.
func TestTrustedKeysAgreeWithSSHKeygen(t *testing.T) {
	needTool(t, "ssh-keygen")
	collector, attacker := testKey(t), testKey(t)
	sealed := signedDir(t, collector)
	resealed := copyDir(t, sealed)
	reseal(t, resealed, loadTestSigner(t, attacker))
	if res, _ := manifest.VerifyDir(resealed); !res.OK() {
		t.Fatalf("premise: the re-sealed bundle passes every hash check: %+v", res.Problems)
	}
	pub, _ := os.ReadFile(collector + ".pub")
	attackerPub, _ := os.ReadFile(attacker + ".pub")
	dir := t.TempDir()
	signers := func(name, lines string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(lines), 0o644)
		return p
	}
	key := strings.TrimSpace(string(pub))
	files := map[string]struct {
		path             string
		sealed, resealed int // evidence verify's exit for each bundle
	}{
		"collector":       {signers("collector", "# the collector, confirmed by phone\ncollector@example.org "+key+"\n"), ExitOK, ExitUntrusted},
		"both namespaces": {signers("ns", `collector@example.org,ir@example.org namespaces="evidence,evidence-custody" `+key+"\n"), ExitOK, ExitUntrusted},
		"other namespace": {signers("other-ns", `collector@example.org namespaces="file" `+key+"\n"), ExitUntrusted, ExitUntrusted},
		"expired":         {signers("expired", `collector@example.org valid-before="20200101Z" `+key+"\n"), ExitUntrusted, ExitUntrusted},
		"attacker too":    {signers("both", "collector@example.org "+key+"\nmallory@example.org "+strings.TrimSpace(string(attackerPub))+"\n"), ExitOK, ExitOK},
	}
	for name, f := range files {
		for _, b := range []struct {
			dir  string
			want int
		}{{sealed, f.sealed}, {resealed, f.resealed}} {
			ssh := sshKeygenAccepts(t, b.dir, f.path)
			code, trust := verifyTrust(t, nil, "--trusted-keys", f.path, b.dir)
			if code != b.want || ssh != (code == ExitOK) {
				t.Errorf("%s, %s: evidence exit %d (trust %s, want exit %d), ssh-keygen accepts: %v", name, filepath.Base(filepath.Dir(b.dir)), code, trust, b.want, ssh)
			}
			wantTrust := map[int]string{ExitOK: seal.TrustTrusted, ExitUntrusted: seal.TrustUntrusted}[b.want]
			if trust != wantTrust {
				t.Errorf("%s: --json seal.trust %q, want %q", name, trust, wantTrust)
			}
			if code, _ := verifyTrust(t, map[string]string{seal.EnvTrustedKeys: f.path}, b.dir); code != b.want {
				t.Errorf("%s via %s: exit %d, want %d", name, seal.EnvTrustedKeys, code, b.want)
			}
			t.Setenv(seal.EnvTrustedKeys, "")
		}
	}
	// The one-line verdicts.
	code, out, _ := invoke(t, nil, "verify", "--trusted-keys", files["collector"].path, resealed)
	if code != ExitUntrusted || !strings.Contains(out, "signature: UNTRUSTED") || !strings.Contains(out, "untrusted") {
		t.Errorf("re-sealed, text: exit %d\n%s", code, out)
	}
	if code, out, _ := invoke(t, nil, "verify", "--pubkey", collector+".pub", resealed); code != ExitUntrusted {
		t.Errorf("re-sealed, --pubkey: exit %d\n%s", code, out)
	}
	code, out, _ = invoke(t, nil, "verify", resealed)
	if code != ExitOK || !strings.Contains(out, "signature: SELF-SIGNED") {
		t.Errorf("re-sealed without trusted keys: exit %d\n%s", code, out)
	}
	if code, trust := verifyTrust(t, nil, resealed); code != ExitOK || trust != seal.TrustSelfSigned {
		t.Errorf("re-sealed without trusted keys, --json: exit %d trust %q", code, trust)
	}
	if code, trust := verifyTrust(t, nil, sealedDir(t)); code != ExitOK || trust != seal.TrustUnsigned {
		t.Errorf("unsigned, --json: exit %d trust %q", code, trust)
	}
	// --require-signature never accepts a key nobody named.
	code, _, stderr := invoke(t, nil, "verify", "--require-signature", resealed)
	stderrOneLine(t, "--require-signature without trusted keys", stderr, "--trusted-keys")
	if code != ExitUsage {
		t.Errorf("--require-signature without trusted keys: exit %d", code)
	}
	if code, _, _ := invoke(t, nil, "verify", "--require-signature", "--trusted-keys", files["collector"].path, resealed); code != ExitUntrusted {
		t.Errorf("--require-signature --trusted-keys on the re-sealed bundle: exit %d", code)
	}
	// A file ssh-keygen would read differently is refused, one line, exit 1.
	for name, lines := range map[string]string{
		"certificate authority": "collector@example.org cert-authority " + key + "\n",
		"no principal":          key + "\n",
		"empty":                 "# nobody\n",
	} {
		code, _, stderr := invoke(t, nil, "verify", "--trusted-keys", signers("bad", lines), sealed)
		stderrOneLine(t, name, stderr, "--trusted-keys")
		if code != ExitUsage {
			t.Errorf("%s: exit %d, want %d", name, code, ExitUsage)
		}
	}
}

// TestCustodyBesideArchiveBound: the custody log beside an archive is part
// of what verify checks: deleting it, emptying it (a full disk) or
// appending an unsigned entry to a signed log fails verify (exit 4) with a
// message naming what happened; an entry signed by a key outside the trusted
// keys exits 5; custody append refuses to extend a signed log unsigned.
func TestCustodyBesideArchiveBound(t *testing.T) {
	collector, bob := testKey(t), testKey(t)
	srv := newSim(t, graphtest.Config{Seed: 5})
	code, stdout, stderr := invoke(t, keyEnv, grabArgs(srv, t.TempDir(), "--user", "victim@contoso.com", "--bundle", "tar", "--sign-key", collector+".key")...)
	if code != ExitOK {
		t.Fatalf("grab: exit %d\n%s", code, stderr)
	}
	arch := lastLine(stdout)
	beside := manifest.CustodyPathFor(arch)
	intact, err := os.ReadFile(beside)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(collector + ".pub")
	bobPub, _ := os.ReadFile(bob + ".pub")
	signers := filepath.Join(t.TempDir(), "allowed_signers")
	os.WriteFile(signers, []byte("collector "+string(pub)), 0o644)
	if code, out, _ := invoke(t, nil, "verify", "--trusted-keys", signers, arch); code != ExitOK {
		t.Fatalf("intact: exit %d\n%s", code, out)
	}

	if code, _, stderr := invoke(t, keyEnv, "custody", "append", arch, "--action", "note", "--note", "unsigned"); code != ExitUsage || !strings.Contains(stderr, "--sign-key") {
		t.Errorf("unsigned append to a signed log: exit %d\n%s", code, stderr)
	}
	if got, _ := os.ReadFile(beside); string(got) != string(intact) {
		t.Fatal("a refused append changed the log")
	}

	unsigned := func() {
		lines := strings.Split(strings.TrimSuffix(string(intact), "\n"), "\n")
		last := lines[len(lines)-1]
		h := sha256.Sum256([]byte(last))
		line, err := manifest.Canonical(manifest.CustodyEntry{Seq: len(lines) + 1, Time: manifest.FormatTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)),
			Actor: "mallory", Host: "h", Action: manifest.ActionNote, Details: map[string]string{"note": "all fine"}, Prev: hex.EncodeToString(h[:])})
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(beside, append(append([]byte{}, intact...), append(line, '\n')...), 0o644)
	}
	for _, c := range []struct {
		name   string
		tamper func()
		code   int
		want   []string
	}{
		{"deleted", func() { os.Remove(beside) }, ExitVerify, []string{"missing", filepath.Base(beside), "absent", "deleted or not copied"}},
		{"0 bytes", func() { os.WriteFile(beside, nil, 0o644) }, ExitVerify, []string{"custody", filepath.Base(beside), "0 bytes", "full disk", "not altered"}},
		{"unsigned entry appended", unsigned, ExitVerify, []string{"custody", filepath.Base(beside), "unsigned, after"}},
	} {
		c.tamper()
		code, out, _ := invoke(t, nil, "verify", "--trusted-keys", signers, arch)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s", c.name, code, c.code, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output does not say %q\n%s", c.name, w, out)
			}
		}
		if strings.Contains(c.name, "0 bytes") && (strings.Contains(out, "tamper") || strings.Contains(out, "changed")) {
			t.Errorf("0 bytes reported as tampering:\n%s", out)
		}
		if c.name == "0 bytes" {
			code, _, stderr := invoke(t, keyEnv, "custody", "append", arch, "--action", "note", "--note", "x", "--sign-key", collector+".key")
			if code != ExitVerify || !strings.Contains(stderr, "0 bytes") || !strings.Contains(stderr, "remove it and append again") {
				t.Errorf("append to a 0-byte log: exit %d\n%s", code, stderr)
			}
		}
		os.WriteFile(beside, intact, 0o644)
	}

	// An entry signed by Bob: trusted only once Bob's key is in the file.
	if code, _, stderr := invoke(t, keyEnv, "custody", "append", arch, "--action", "received", "--actor", "Bob", "--sign-key", bob+".key"); code != ExitOK {
		t.Fatalf("append by bob: exit %d\n%s", code, stderr)
	}
	code, out, _ := invoke(t, nil, "verify", "--trusted-keys", signers, arch)
	if code != ExitUntrusted || !strings.Contains(out, "untrusted") || !strings.Contains(out, "received by Bob") {
		t.Errorf("custody entry by an untrusted key: exit %d\n%s", code, out)
	}
	os.WriteFile(signers, []byte("collector "+string(pub)+`bob namespaces="evidence-custody" `+string(bobPub)), 0o644)
	if code, out, _ := invoke(t, nil, "verify", "--trusted-keys", signers, arch); code != ExitOK {
		t.Errorf("custody entry by a trusted key: exit %d\n%s", code, out)
	}
}

// stderrOneLine checks that stderr is exactly one line, the error, saying want.
func stderrOneLine(t *testing.T, what, stderr, want string) {
	t.Helper()
	s := strings.TrimSuffix(stderr, "\n")
	if strings.Contains(s, "\n") || !strings.HasPrefix(s, "evidence: ") || !strings.Contains(s, want) {
		t.Errorf("%s: stderr is not one line saying %q:\n%s", what, want, stderr)
	}
}

// TestExportTrustedKeys: export refuses to sign with a key its trusted
// keys do not hold, and export status checks that every bundle kept
// locally is signed by one of them.
func TestExportTrustedKeys(t *testing.T) {
	day0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	srv := newSim(t, graphtest.Config{Seed: 10, AuditsPerUser: 40, SignInsPerUser: 40, Now: day0})
	collector, other := testKey(t), testKey(t)
	dir := t.TempDir()
	signers := func(name, prefix string) string {
		pub, _ := os.ReadFile(prefix + ".pub")
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(name+" "+string(pub)), 0o644)
		return p
	}
	mine, theirs := signers("collector", collector), signers("other", other)
	stateDir, out := t.TempDir(), t.TempDir()
	args := exportArgs(srv, stateDir, out, day0, "--since", "2d", "--settle", "audits=0s", "--sign-key", collector+".key")
	if code, _, stderr := invoke(t, keyEnv, append(args, "--trusted-keys", theirs)...); code != ExitUsage || srv.Tenant.Stats().Requests != 0 {
		t.Fatalf("export with a key outside --trusted-keys: exit %d, %d requests\n%s", code, srv.Tenant.Stats().Requests, stderr)
	}
	if code, _, stderr := invoke(t, keyEnv, append(args, "--trusted-keys", mine)...); code != ExitOK {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	status := func(keys string) (int, string) {
		code, stdout, _ := invoke(t, nil, "export", "status", "--state", stateDir, "--trusted-keys", keys, "--now", day0.Add(time.Hour).Format(time.RFC3339))
		return code, stdout
	}
	if code, s := status(mine); code != ExitOK || !strings.Contains(s, "each signed by a trusted key") {
		t.Errorf("status with the collector's key: exit %d\n%s", code, s)
	}
	if code, s := status(theirs); code != ExitVerify || !strings.Contains(s, "signature UNTRUSTED") {
		t.Errorf("status with another key: exit %d\n%s", code, s)
	}
}
