package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// noSecrets fails if any secret appears in the outputs, in any file under
// dirs, or inside any .tar.zst archive there (decompressed).
func noSecrets(t *testing.T, secrets []string, outputs []string, dirs ...string) {
	t.Helper()
	check := func(where string, b []byte) {
		for _, s := range secrets {
			if s != "" && bytes.Contains(b, []byte(s)) {
				t.Errorf("a secret (%.6s...) appears in %s", s, where)
			}
		}
	}
	for i, o := range outputs {
		check("output "+string(rune('0'+i)), []byte(o))
	}
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			check(p, b)
			if strings.HasSuffix(p, ".tar.zst") {
				err := archive.Walk(bytes.NewReader(b), func(name string, r io.Reader) error {
					c, err := io.ReadAll(r)
					check(p+":"+name, c)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			return nil
		})
	}
}

func readReceipt(t *testing.T, path string) *blob.Receipt {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r blob.Receipt
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestGrabToBlobNotImmutable: grab --bundle tar,blob against Azurite uploads,
// reads back and verifies the blob, and reports honestly that it is not
// immutable (Azurite ignores the policy): exit 3, a receipt saying so, and
// verify on the blob URL passes and says NOT IMMUTABLE. No key or
// connection string appears anywhere.
func TestGrabToBlobNotImmutable(t *testing.T) {
	az := azuritetest.Start(t)
	az.CreateContainer(t, "evidence")
	srv := newSim(t, graphtest.Config{Seed: 9})
	out := t.TempDir()
	env := map[string]string{"EVIDENCE_GRAPH_TOKEN": testToken, blob.EnvConnectionString: az.ConnectionString(), blob.EnvSAS: ""}
	code, stdout, stderr := invoke(t, env, grabArgs(srv, out, "--user", "victim@contoso.com",
		"--bundle", "tar,blob", "--blob-url", az.ContainerURL("evidence")+"/case-9", "--retain", "365d", "--legal-hold")...)
	if code != ExitIncomplete {
		t.Fatalf("exit %d, want 3 (not immutable)\n%s", code, stderr)
	}
	local := lastLine(stdout)
	if !strings.HasSuffix(local, ".tar.zst") {
		t.Fatalf("last line %q is not the local archive", local)
	}
	if !strings.Contains(stderr, "NOT IMMUTABLE") || !strings.Contains(stderr, "SHA-256 read back") {
		t.Errorf("stderr does not report the read-back:\n%s", stderr)
	}
	rc := readReceipt(t, local+".upload.json")
	if rc.Immutable || !rc.SHA256Matches || rc.Requested.Until == "" || !rc.Requested.LegalHold || rc.ETag == "" {
		t.Errorf("receipt: %+v", rc)
	}
	if rc.Blob != "case-9/"+filepath.Base(local) || rc.Credential != "connection string from "+blob.EnvConnectionString {
		t.Errorf("receipt names %q, credential %q", rc.Blob, rc.Credential)
	}

	vcode, vout, verr := invoke(t, map[string]string{blob.EnvConnectionString: az.ConnectionString()}, "verify", rc.URL)
	if vcode != ExitOK || !strings.Contains(vout, "OK ") || !strings.Contains(vout, "NOT IMMUTABLE") || !strings.Contains(vout, rc.SHA256) {
		t.Errorf("verify %s: exit %d\n%s%s", rc.URL, vcode, vout, verr)
	}
	noSecrets(t, []string{azuritetest.AccountKey, az.ConnectionString()}, []string{stdout, stderr, vout, verr}, out)
}

// TestGrabBlobOnlyAllowMutable: --bundle blob with --allow-mutable exits 0,
// removes the local archive once the blob is verified, keeps the receipt
// with a warning, and prints the blob's URL as the bundle.
func TestGrabBlobOnlyAllowMutable(t *testing.T) {
	az := azuritetest.Start(t)
	az.CreateContainer(t, "evidence")
	srv := newSim(t, graphtest.Config{Seed: 9})
	out := t.TempDir()
	sasToken := az.ContainerSAS(t, "evidence", "racw")
	env := map[string]string{"EVIDENCE_GRAPH_TOKEN": testToken, blob.EnvSAS: sasToken, blob.EnvConnectionString: ""}
	code, stdout, stderr := invoke(t, env, grabArgs(srv, out, "--user", "victim@contoso.com",
		"--bundle", "blob", "--blob-url", az.ContainerURL("evidence"), "--allow-mutable", "--block-size", "1", "--upload-concurrency", "2")...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	url := lastLine(stdout)
	if !strings.HasPrefix(url, az.ContainerURL("evidence")+"/evidence-") || strings.Contains(url, "?") {
		t.Fatalf("last line %q is not the blob URL", url)
	}
	archives, _ := filepath.Glob(filepath.Join(out, "*.tar.zst"))
	receipts, _ := filepath.Glob(filepath.Join(out, "*.tar.zst.upload.json"))
	if len(archives) != 0 || len(receipts) != 1 {
		t.Fatalf("archives %v receipts %v: want only the receipt", archives, receipts)
	}
	rc := readReceipt(t, receipts[0])
	if rc.Immutable || !rc.AllowMutable || len(rc.Warnings) == 0 || !strings.Contains(rc.Warnings[0], "--allow-mutable") {
		t.Errorf("receipt: %+v", rc)
	}
	if rc.Credential != "SAS from "+blob.EnvSAS {
		t.Errorf("credential %q", rc.Credential)
	}
	vcode, vout, verr := invoke(t, map[string]string{blob.EnvSAS: sasToken}, "verify", "--json", url)
	var vr struct {
		OK   bool
		Blob struct {
			SHA256         string `json:"sha256"`
			MetadataSHA256 string `json:"metadata_sha256"`
			Immutable      bool
		}
	}
	if err := json.Unmarshal([]byte(vout), &vr); err != nil || vcode != ExitOK || !vr.OK || vr.Blob.SHA256 != rc.SHA256 || vr.Blob.MetadataSHA256 != rc.SHA256 || vr.Blob.Immutable {
		t.Errorf("verify --json: exit %d err %v\n%s%s", vcode, err, vout, verr)
	}
	sig := sasToken[strings.Index(sasToken, "sig="):]
	noSecrets(t, []string{sasToken, sig}, []string{stdout, stderr, vout, verr}, out)
}

// TestPackDeterministicAndWriteOnce: pack gives byte-identical archives of
// the same bundle even after its files' times and modes changed; a second
// upload to the same blob name is refused (exit 2) and leaves the blob as
// it was; a tampered blob fails verify (exit 4).
func TestPackDeterministicAndWriteOnce(t *testing.T) {
	az := azuritetest.Start(t)
	cc := az.CreateContainer(t, "evidence")
	dir := sealedDir(t)
	work := t.TempDir()
	env := map[string]string{blob.EnvConnectionString: az.ConnectionString(), blob.EnvSAS: ""}

	a := filepath.Join(work, "a.tar.zst")
	code, stdout, stderr := invoke(t, env, "pack", dir, "-o", a, "--blob-url", az.ContainerURL("evidence"), "--allow-mutable")
	if code != ExitOK || lastLine(stdout) != a {
		t.Fatalf("pack: exit %d stdout %q\n%s", code, stdout, stderr)
	}
	rc := readReceipt(t, a+".upload.json")
	if rc.Blob != "a.tar.zst" || !rc.SHA256Matches {
		t.Fatalf("receipt: %+v", rc)
	}

	// Touch every file and directory: the archive must not change.
	when := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Chmod(p, 0o600)
		}
		return os.Chtimes(p, when, when)
	})
	b := filepath.Join(work, "b", "a.tar.zst") // same file name: same blob name
	os.Mkdir(filepath.Dir(b), 0o755)
	code, _, stderr = invoke(t, env, "pack", dir, "-o", b, "--blob-url", az.ContainerURL("evidence"), "--allow-mutable")
	if code != ExitFailed || !strings.Contains(stderr, "already exists") || !strings.Contains(stderr, "never overwrites") {
		t.Fatalf("second upload to the same name: exit %d\n%s", code, stderr)
	}
	ab, _ := os.ReadFile(a)
	bb, err := os.ReadFile(b)
	if err != nil || !bytes.Equal(ab, bb) {
		t.Fatalf("two packs of the same bundle differ (or the second is missing: %v)", err)
	}
	ctx := context.Background()
	bc := cc.NewBlockBlobClient("a.tar.zst")
	if p, err := bc.GetProperties(ctx, nil); err != nil || string(*p.ETag) != rc.ETag {
		t.Fatalf("the blob changed after the refused upload: %v", err)
	}
	// pack refuses to overwrite a local archive, too.
	if code, _, stderr := invoke(t, env, "pack", dir, "-o", a); code != ExitUsage || !strings.Contains(stderr, "never overwritten") {
		t.Errorf("pack over an existing archive: exit %d\n%s", code, stderr)
	}

	// Tampering after upload: a record changed and the archive rebuilt (a
	// careful forger keeps the recorded sha256), then a flipped byte.
	forged := t.TempDir()
	if err := archive.Extract(bytes.NewReader(ab), forged); err != nil {
		t.Fatal(err)
	}
	jl := filepath.Join(forged, "signins", "interactive.jsonl")
	recs, _ := os.ReadFile(jl)
	os.WriteFile(jl, bytes.Replace(recs, []byte("185.220.101.47"), []byte("185.220.101.48"), 1), 0o644)
	var fb bytes.Buffer
	if err := archive.WriteTarZst(&fb, forged, filepath.Base(dir), when); err != nil {
		t.Fatal(err)
	}
	overwrite := func(content []byte) {
		t.Helper()
		_, err := bc.UploadBuffer(ctx, content, &blockblob.UploadBufferOptions{Metadata: map[string]*string{"sha256": to.Ptr(rc.SHA256)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	overwrite(fb.Bytes())
	code, vout, _ := invoke(t, env, "verify", rc.URL)
	if code != ExitVerify || !strings.Contains(vout, "signins/interactive.jsonl") || !strings.Contains(vout, "its upload recorded "+rc.SHA256) {
		t.Errorf("verify of a forged blob: exit %d\n%s", code, vout)
	}
	flipped := bytes.Clone(ab)
	flipped[len(flipped)/2] ^= 0x40
	overwrite(flipped)
	code, vout, verr := invoke(t, env, "verify", rc.URL)
	if code != ExitVerify {
		t.Errorf("verify of a flipped blob: exit %d\n%s%s", code, vout, verr)
	}
	noSecrets(t, []string{azuritetest.AccountKey}, []string{stdout, stderr, vout, verr}, work)
}

// TestBlobFlagsRefused: secrets in flags, missing URL or credentials are
// usage errors before anything is collected, and never echo the secret.
func TestBlobFlagsRefused(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 9})
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"sas in url", nil, []string{"--bundle", "blob", "--blob-url", "https://acct.blob.core.windows.net/evidence?sv=2024-01-01&sig=TOPSECRETSIG"}, "query string"},
		{"no url", nil, []string{"--bundle", "blob"}, "needs --blob-url"},
		{"url without blob", nil, []string{"--blob-url", "https://acct.blob.core.windows.net/evidence"}, "--bundle blob"},
		{"retain without blob", nil, []string{"--retain", "30d"}, "apply to a blob upload"},
		{"bad form", nil, []string{"--bundle", "zip"}, "use tar, dir, blob or tar,blob"},
		{"bad retain", map[string]string{blob.EnvSAS: "sv=1&sig=x"}, []string{"--bundle", "blob", "--blob-url", "https://acct.blob.core.windows.net/evidence", "--retain", "1y"}, "365d"},
		{"bad mode", map[string]string{blob.EnvSAS: "sv=1&sig=x"}, []string{"--bundle", "blob", "--blob-url", "https://acct.blob.core.windows.net/evidence", "--retain-mode", "frozen"}, "unlocked or locked"},
		{"no credential", map[string]string{blob.EnvSAS: "", blob.EnvConnectionString: ""}, []string{"--bundle", "blob", "--blob-url", "https://acct.blob.core.windows.net/evidence"}, "no credential"},
		{"both credentials", map[string]string{blob.EnvSAS: "sv=1&sig=TOPSECRETSIG", blob.EnvConnectionString: "AccountName=a;AccountKey=TOPSECRETKEY"}, []string{"--bundle", "blob", "--blob-url", "https://acct.blob.core.windows.net/evidence"}, "unset one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"EVIDENCE_GRAPH_TOKEN": testToken, blob.EnvSAS: "", blob.EnvConnectionString: ""}
			for k, v := range c.env {
				env[k] = v
			}
			out := t.TempDir()
			code, stdout, stderr := invoke(t, env, grabArgs(srv, out, append([]string{"--user", "victim@contoso.com"}, c.args...)...)...)
			if code != ExitUsage || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, c.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("something was written: %v", entries)
			}
			noSecrets(t, []string{"TOPSECRETSIG", "TOPSECRETKEY"}, []string{stdout, stderr})
		})
	}
}
