package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/evidence-dfir/evidence/manifest/seal/tsatest"
)

const testPassphrase = "test passphrase, not a secret"

// testKey creates a key pair and returns its prefix.
func testKey(t *testing.T) string {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "signer")
	if _, err := seal.GenerateKey(prefix, []byte(testPassphrase), "test signer"); err != nil {
		t.Fatal(err)
	}
	return prefix
}

var keyEnv = map[string]string{"EVIDENCE_GRAPH_TOKEN": testToken, EnvKeyPassword: testPassphrase}

// signedDir grabs a small signed bundle as a directory.
func signedDir(t *testing.T, prefix string) string {
	t.Helper()
	srv := newSim(t, graphtest.Config{Seed: 5})
	code, stdout, stderr := invoke(t, keyEnv, grabArgs(srv, t.TempDir(), "--user", "victim@contoso.com", "--bundle", "dir", "--sign-key", prefix+".key")...)
	if code != ExitOK {
		t.Fatalf("grab exit %d\n%s", code, stderr)
	}
	return lastLine(stdout)
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func sumsPaths(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, manifest.SumsName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums, err := manifest.ParseSums(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range sums {
		out = append(out, s.Path)
	}
	return out
}

func flipByte(dir, rel string) error {
	p := filepath.Join(dir, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if len(b) == 0 { // an empty record file (no records of that kind): tamper by adding one byte
		b = []byte{'\n'}
	} else {
		b[len(b)/2] ^= 0x01
	}
	return os.WriteFile(p, b, 0o644)
}

// rehash rewrites rel's line in SHA256SUMS (and, when inManifest, its
// sha256 and size in manifest.json, then manifest.json's line), as an
// attacker without the signing key would.
func rehash(t *testing.T, dir, rel string, inManifest bool) {
	t.Helper()
	sum := func(p string) (string, int64) {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		return hex.EncodeToString(h[:]), int64(len(b))
	}
	if inManifest {
		m := readManifest(t, dir)
		h, n := sum(rel)
		for i := range m.Files {
			if m.Files[i].Path == rel {
				m.Files[i].SHA256, m.Files[i].Size = h, n
			}
		}
		b, err := manifest.Canonical(m)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, manifest.ManifestName), b, 0o644)
	}
	var sums []manifest.Sum
	for _, p := range sumsPaths(t, dir) {
		h, _ := sum(p)
		sums = append(sums, manifest.Sum{Path: p, SHA256: h})
	}
	var buf bytes.Buffer
	if err := manifest.WriteSums(&buf, sums); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, manifest.SumsName), buf.Bytes(), 0o644)
}

func swapLines(p string, i, j int) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	lines[i], lines[j] = lines[j], lines[i]
	return os.WriteFile(p, bytes.Join(lines, nil), 0o644)
}

// TestVerifyTamperMatrix: every tampering of the acceptance list makes
// verify --pubkey exit 4 and name the failing item.
func TestVerifyTamperMatrix(t *testing.T) {
	prefix := testKey(t)
	other := testKey(t)
	sealed := signedDir(t, prefix)
	if code, out, _ := invoke(t, nil, "verify", "--pubkey", prefix+".pub", sealed); code != ExitOK {
		t.Fatalf("intact bundle: exit %d\n%s", code, out)
	}

	type tc struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   []string // each must appear in the output
	}
	var cases []tc
	// One flipped byte in any file, sealed or sealing.
	for _, p := range append(sumsPaths(t, sealed), manifest.SumsName) {
		want := []string{"changed", p}
		if p == manifest.SumsName {
			want = []string{"signature", manifest.SigName}
		}
		cases = append(cases, tc{"flip " + p, func(t *testing.T, dir string) {
			if err := flipByte(dir, p); err != nil {
				t.Fatal(err)
			}
		}, want})
	}
	cases = append(cases,
		tc{"flip signature", func(t *testing.T, dir string) {
			p := filepath.Join(dir, manifest.SigName)
			b, _ := os.ReadFile(p)
			i := bytes.IndexByte(b, '\n') + 40 // inside the base64 body
			b[i] = map[bool]byte{true: 'B', false: 'A'}[b[i] == 'A']
			os.WriteFile(p, b, 0o644)
		}, []string{"signature", manifest.SigName}},
		tc{"remove file", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "audits", "directory.csv"))
		}, []string{"missing", "audits/directory.csv"}},
		tc{"remove signature", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, manifest.SigName))
		}, []string{"missing", manifest.SigName}},
		tc{"remove custody log", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, manifest.CustodyLogName))
		}, []string{"missing", manifest.CustodyLogName}},
		tc{"add file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "signins", "extra.jsonl"), []byte("{}\n"), 0o644)
		}, []string{"added", "signins/extra.jsonl"}},
		tc{"rename file", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, "signins", "interactive.jsonl"), filepath.Join(dir, "signins", "interactive2.jsonl"))
		}, []string{"missing", "signins/interactive.jsonl", "added", "signins/interactive2.jsonl"}},
		tc{"manifest edited, re-hashed, not re-signed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, manifest.ManifestName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"examiner":"`), []byte(`"examiner":"Mallory `), 1), 0o644)
			rehash(t, dir, manifest.ManifestName, false)
			// The hashes alone now agree: only the signature catches it.
			if res, _ := manifest.VerifyDir(dir); !res.OK() {
				t.Fatalf("premise: the re-hashed bundle should pass the hash checks: %+v", res.Problems)
			}
		}, []string{"signature", manifest.SigName, "does not verify"}},
		tc{"signed by another key", func(t *testing.T, dir string) {
			s, err := seal.LoadSigningKey(other+".key", func() ([]byte, error) { return []byte(testPassphrase), nil })
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(dir, manifest.SigName))
			if err := seal.SignSums(dir, s); err != nil {
				t.Fatal(err)
			}
		}, []string{"signature", manifest.SigName, "not one of the trusted keys"}},
		tc{"custody entries reordered", func(t *testing.T, dir string) {
			if err := swapLines(filepath.Join(dir, manifest.CustodyLogName), 0, 1); err != nil {
				t.Fatal(err)
			}
		}, []string{"custody", manifest.CustodyLogName, "entry 1"}},
		tc{"custody entry edited", func(t *testing.T, dir string) {
			p := filepath.Join(dir, manifest.CustodyLogName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"action":"sealed"`), []byte(`"action":"note"`), 1), 0o644)
		}, []string{"custody", manifest.CustodyLogName, "entry 2", "signature does not verify"}},
		tc{"jsonl line removed, counts kept", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "signins", "interactive.jsonl")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[bytes.IndexByte(b, '\n')+1:], 0o644)
			rehash(t, dir, "signins/interactive.jsonl", true)
		}, []string{"inconsistent", "signins/interactive.jsonl", "lines"}},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, sealed)
			c.tamper(t, dir)
			for _, args := range [][]string{{"verify", "--pubkey", prefix + ".pub", dir}, {"verify", "--json", "--pubkey", prefix + ".pub", dir}} {
				code, out, stderr := invoke(t, nil, args...)
				if code != ExitVerify {
					t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, ExitVerify, out, stderr)
				}
				for _, w := range c.want {
					if !strings.Contains(out, w) {
						t.Fatalf("%v: output does not name %q:\n%s", args, w, out)
					}
				}
			}
		})
	}
}

// TestUnsignedBundle: allowed with a loud warning, refused with
// --require-signature (at grab and at verify, where it needs trusted keys).
func TestUnsignedBundle(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 5})
	code, _, stderr := invoke(t, tokenEnv, grabArgs(srv, t.TempDir(), "--user", "victim@contoso.com", "--require-signature")...)
	if code != ExitUsage || !strings.Contains(stderr, "--require-signature") {
		t.Fatalf("grab --require-signature without a key: exit %d\n%s", code, stderr)
	}
	dir := sealedDir(t)
	code, out, _ := invoke(t, nil, "verify", dir)
	if code != ExitOK || !strings.Contains(out, "UNSIGNED") {
		t.Fatalf("unsigned verify: exit %d\n%s", code, out)
	}
	// --require-signature needs trusted keys: any key makes a valid signature.
	if code, _, stderr := invoke(t, nil, "verify", "--require-signature", dir); code != ExitUsage || !strings.Contains(stderr, "--trusted-keys") {
		t.Fatalf("verify --require-signature without trusted keys: exit %d\n%s", code, stderr)
	}
	if code, out, _ := invoke(t, nil, "verify", "--require-signature", "--pubkey", testKey(t)+".pub", dir); code != ExitVerify || !strings.Contains(out, manifest.SigName) {
		t.Fatalf("verify --require-signature: exit %d\n%s", code, out)
	}
	if code, out, _ := invoke(t, nil, "verify", "--pubkey", testKey(t)+".pub", dir); code != ExitVerify {
		t.Fatalf("verify --pubkey on an unsigned bundle: exit %d\n%s", code, out)
	}
}

// TestKeygenCLI: keygen never overwrites; a readable private key, a wrong
// passphrase and a Key Vault URL are each one clear line, exit 1, before
// anything is collected.
func TestKeygenCLI(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "k")
	env := map[string]string{EnvKeyPassword: testPassphrase}
	code, stdout, stderr := invoke(t, env, "keygen", "--out", prefix)
	if code != ExitOK || !strings.HasPrefix(stdout, "SHA256:") {
		t.Fatalf("keygen: exit %d\n%s%s", code, stdout, stderr)
	}
	key, _ := os.ReadFile(prefix + ".key")
	if code, _, stderr := invoke(t, env, "keygen", "--out", prefix); code != ExitUsage || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second keygen: exit %d\n%s", code, stderr)
	}
	if again, _ := os.ReadFile(prefix + ".key"); !bytes.Equal(key, again) {
		t.Fatal("keygen overwrote the key")
	}
	if bytes.Contains(key, []byte(testPassphrase)) || !bytes.Contains(key, []byte("OPENSSH PRIVATE KEY")) {
		t.Fatal("the key file is not an encrypted OpenSSH key")
	}

	srv := newSim(t, graphtest.Config{Seed: 5})
	out := t.TempDir()
	oneLine := func(what, stderr, want string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "evidence: ") || !strings.Contains(last, want) {
			t.Fatalf("%s: last stderr line %q does not say %q", what, last, want)
		}
	}
	bad := map[string]string{"EVIDENCE_GRAPH_TOKEN": testToken, EnvKeyPassword: "not the passphrase"}
	code, _, stderr = invoke(t, bad, grabArgs(srv, out, "--user", "victim@contoso.com", "--sign-key", prefix+".key")...)
	if code != ExitUsage {
		t.Fatalf("wrong passphrase: exit %d\n%s", code, stderr)
	}
	oneLine("wrong passphrase", stderr, "wrong passphrase")
	if n := srv.Tenant.Stats().Requests; n != 0 {
		t.Fatalf("%d requests were sent before the key was checked", n)
	}

	os.Chmod(prefix+".key", 0o644)
	code, _, stderr = invoke(t, keyEnv, grabArgs(srv, out, "--user", "victim@contoso.com", "--sign-key", prefix+".key")...)
	if code != ExitUsage {
		t.Fatalf("readable key: exit %d\n%s", code, stderr)
	}
	oneLine("readable key", stderr, "group or others")

	code, _, stderr = invoke(t, keyEnv, grabArgs(srv, out, "--user", "victim@contoso.com", "--sign-key", "azurekeyvault://vault/keys/evidence")...)
	if code != ExitUsage {
		t.Fatalf("key vault: exit %d\n%s", code, stderr)
	}
	oneLine("key vault", stderr, "Ed25519")
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("refused runs left %d entries in --out", len(entries))
	}
}

// TestStockToolsVerifyDemo is the CI check: a signed, time-stamped demo
// bundle verifies with sha256sum -c, ssh-keygen -Y verify and openssl ts
// -verify against the local TSA; then custody events are appended beside
// the archive without changing it, and verify prints the history.
func TestStockToolsVerifyDemo(t *testing.T) {
	for _, tool := range []string{"sha256sum", "ssh-keygen", "openssl"} {
		needTool(t, tool)
	}
	tsa, err := tsatest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer tsa.Close()
	prefix := testKey(t)
	env := map[string]string{EnvKeyPassword: testPassphrase}
	code, stdout, stderr := invoke(t, env, "demo", "--out", t.TempDir(), "--sign-key", prefix+".key", "--tsa", tsa.URL)
	if code != ExitOK {
		t.Fatalf("demo exit %d\n%s", code, stderr)
	}
	arch := lastLine(stdout)
	if tsa.Requests.Load() != 1 {
		t.Fatalf("%d time-stamp requests, want 1", tsa.Requests.Load())
	}
	archBytes, _ := os.ReadFile(arch)

	dest := t.TempDir()
	f, err := os.Open(arch)
	if err != nil {
		t.Fatal(err)
	}
	if err := archive.Extract(f, dest); err != nil {
		t.Fatal(err)
	}
	f.Close()
	pub, _ := os.ReadFile(prefix + ".pub")
	os.WriteFile(filepath.Join(dest, "..", "allowed_signers"), []byte("collector "+string(pub)), 0o644)
	caFile := filepath.Join(t.TempDir(), "tsa-ca.pem")
	os.WriteFile(caFile, tsa.CAPEM, 0o644)

	sh := func(want, script string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = dest
		b, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(b), want) {
			t.Fatalf("%s: %v\n%s", script, err, b)
		}
	}
	sh("OK", "sha256sum -c --strict SHA256SUMS")
	sh(`Good "evidence" signature for collector`, "ssh-keygen -Y verify -f ../allowed_signers -I collector -n evidence -s SHA256SUMS.sig < SHA256SUMS")
	sh("Verification: OK", "openssl ts -verify -data SHA256SUMS -in SHA256SUMS.tsr -CAfile "+caFile)
	// The README's custody recipe: entry 1 binds to SHA256SUMS.
	sh("", `test "$(sha256sum SHA256SUMS | cut -c1-64)" = "$(sed -n 1p custody.log.jsonl | sed 's/.*"prev":"\([0-9a-f]*\)".*/\1/')"`)
	// docs/verify.md's stock recipe for one custody entry's signature.
	sh(`Good "evidence-custody" signature for actor`, `line=$(sed -n 2p custody.log.jsonl)
printf '%s' "$line" | sed 's/,"sig":"[^"]*"//' > ../entry
{ echo '-----BEGIN SSH SIGNATURE-----'; printf '%s' "$line" | sed 's/.*"sig":"\([^"]*\)".*/\1/' | fold -w 70; echo; echo '-----END SSH SIGNATURE-----'; } > ../entry.sig
echo "actor $(printf '%s' "$line" | sed 's/.*"key":"\([^"]*\)".*/\1/')" > ../entry_signers
ssh-keygen -Y verify -f ../entry_signers -I actor -n evidence-custody -s ../entry.sig < ../entry`)
	// report names the signing key by the fingerprint ssh-keygen -lf prints.
	kg, err := exec.Command("ssh-keygen", "-lf", prefix+".pub").Output()
	if err != nil {
		t.Fatal(err)
	}
	fp := strings.Fields(string(kg))[1]
	if !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("ssh-keygen -lf printed %q", kg)
	}
	for _, b := range []string{arch, dest} {
		page := filepath.Join(t.TempDir(), "r.html")
		if code, _, stderr := invoke(t, nil, "report", b, "-o", page, "--lang", "en"); code != ExitOK {
			t.Fatalf("report %s: exit %d\n%s", b, code, stderr)
		}
		html, _ := os.ReadFile(page)
		if !strings.Contains(string(html), fp) {
			t.Errorf("report of %s does not name the key %s (ssh-keygen -lf)", b, fp)
		}
	}
	// A planted minisign signature is no seal: verify fails and names it.
	planted := filepath.Join(dest, manifest.SumsName+".minisig")
	os.WriteFile(planted, []byte("untrusted comment: signature from minisign secret key\nRWQBAAAAR0lTSA==\n"), 0o644)
	code, out, _ := invoke(t, nil, "verify", "--pubkey", prefix+".pub", dest)
	if code != ExitVerify || !strings.Contains(out, "added") || !strings.Contains(out, "SHA256SUMS.minisig") {
		t.Fatalf("verify with a planted SHA256SUMS.minisig: exit %d, want %d naming it\n%s", code, ExitVerify, out)
	}
	os.Remove(planted)

	// The stock tools fail on a tampered SHA256SUMS.
	if err := flipByte(dest, manifest.SumsName); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "ssh-keygen -Y verify -f ../allowed_signers -I collector -n evidence -s SHA256SUMS.sig < SHA256SUMS")
	cmd.Dir = dest
	if b, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("ssh-keygen accepted a changed SHA256SUMS:\n%s", b)
	}

	code, out, _ = invoke(t, nil, "verify", "--pubkey", prefix+".pub", "--tsa-ca", caFile, arch)
	if code != ExitOK || !strings.Contains(out, "authority trusted") || !strings.Contains(out, "archived") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}

	// Custody after sealing: beside the archive, signed by another actor.
	bob := testKey(t)
	code, _, stderr = invoke(t, env, "custody", "append", arch, "--action", "transferred", "--actor", "Alice (IR)", "--to", "SOC team", "--note", "USB 4411", "--sign-key", prefix+".key")
	if code != ExitOK {
		t.Fatalf("custody append: exit %d\n%s", code, stderr)
	}
	code, _, stderr = invoke(t, env, "custody", "append", arch, "--action", "received", "--actor", "Bob (SOC)", "--from", "Alice (IR)", "--sign-key", bob+".key")
	if code != ExitOK {
		t.Fatalf("custody append: exit %d\n%s", code, stderr)
	}
	if now, _ := os.ReadFile(arch); !bytes.Equal(now, archBytes) {
		t.Fatal("custody append changed the archive")
	}
	code, out, _ = invoke(t, nil, "verify", "--pubkey", prefix+".pub", "--pubkey", bob+".pub", arch)
	if code != ExitOK || !strings.Contains(out, "transferred") || !strings.Contains(out, "to=SOC team") || !strings.Contains(out, "received") {
		t.Fatalf("verify after custody: exit %d\n%s", code, out)
	}
	var js struct {
		Seal seal.Report `json:"seal"`
	}
	_, jout, _ := invoke(t, nil, "verify", "--json", arch)
	if err := json.Unmarshal([]byte(jout), &js); err != nil || js.Seal.Custody == nil || len(js.Seal.Custody.Entries) != 5 {
		t.Fatalf("--json custody: %v\n%s", err, jout)
	}

	// A reordered entry beside the archive: exit 4, named; and the log is
	// not extended further.
	ext := manifest.CustodyPathFor(arch)
	if err := swapLines(ext, 3, 4); err != nil {
		t.Fatal(err)
	}
	code, out, _ = invoke(t, nil, "verify", "--pubkey", prefix+".pub", arch)
	if code != ExitVerify || !strings.Contains(out, filepath.Base(ext)) || !strings.Contains(out, "entry 4") {
		t.Fatalf("reordered custody beside the archive: exit %d\n%s", code, out)
	}
	if code, _, stderr := invoke(t, env, "custody", "append", arch, "--action", "note", "--note", "x"); code != ExitVerify {
		t.Fatalf("append to a broken log: exit %d\n%s", code, stderr)
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
