package main

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
)

// TestInputChecksBeforeAnyRequest: each bad flag or file of the list is
// refused by the real command path with one line on stderr and its exit
// code, before the simulated tenant receives a single request and before
// anything is written to --out.
func TestInputChecksBeforeAnyRequest(t *testing.T) {
	key, other := testKey(t), testKey(t)
	dir := t.TempDir()
	random := filepath.Join(dir, "random.bin")
	b := make([]byte, 64<<10)
	rand.New(rand.NewSource(18)).Read(b)
	os.WriteFile(random, b, 0o644)
	workbook := filepath.Join(dir, "InteractiveSignIns_2026-11-15_2026-11-16.xlsx")
	os.WriteFile(workbook, append([]byte("PK\x03\x04"), b[:100]...), 0o644)
	notArchive := filepath.Join(dir, "random.tar.zst")
	os.WriteFile(notArchive, b, 0o644)
	trustOther := filepath.Join(dir, "allowed_signers")
	pub, _ := os.ReadFile(other + ".pub")
	os.WriteFile(trustOther, []byte("someone-else "+string(pub)), 0o644)

	for _, c := range []struct {
		name string
		args func(srv *graphtest.Server, out string) []string
		code int
		want string
	}{
		{"grab --tsa not a url", func(srv *graphtest.Server, out string) []string {
			return grabArgs(srv, out, "--user", "victim@contoso.com", "--tsa", "not a url")
		}, ExitUsage, `--tsa "not a url": not an http:// or https:// URL`},
		{"export --tsa not a url", func(srv *graphtest.Server, out string) []string {
			return exportArgs(srv, filepath.Join(out, "state"), out, fixedNow, "--tsa", "ftp://tsa.example")
		}, ExitUsage, `--tsa "ftp://tsa.example"`},
		{"grab --sign-key X.pub", func(srv *graphtest.Server, out string) []string {
			return grabArgs(srv, out, "--user", "victim@contoso.com", "--sign-key", key+".pub")
		}, ExitUsage, "that is a public key; give the private key (" + key + ".key"},
		{"grab --sign-key absent", func(srv *graphtest.Server, out string) []string {
			return grabArgs(srv, out, "--user", "victim@contoso.com", "--sign-key", filepath.Join(dir, "nokey"))
		}, ExitUsage, "no such file"},
		{"grab --sign-key a directory", func(srv *graphtest.Server, out string) []string {
			return grabArgs(srv, out, "--user", "victim@contoso.com", "--sign-key", dir)
		}, ExitUsage, "not a regular file"},
		{"grab --sign-key outside --trusted-keys", func(srv *graphtest.Server, out string) []string {
			return grabArgs(srv, out, "--user", "victim@contoso.com", "--sign-key", key+".key", "--trusted-keys", trustOther)
		}, ExitUsage, "is not one of the trusted keys"},
		{"export --trusted-keys unreadable", func(srv *graphtest.Server, out string) []string {
			return exportArgs(srv, filepath.Join(out, "state"), out, fixedNow, "--sign-key", key+".key", "--trusted-keys", filepath.Join(dir, "absent"))
		}, ExitUsage, "--trusted-keys: open"},
		{"import random.bin", func(_ *graphtest.Server, out string) []string {
			return []string{"import", "--out", out, random}
		}, ExitUsage, "not an admin center download (a CSV or JSON of sign-in or audit logs): it looks like binary data"},
		{"import a workbook", func(_ *graphtest.Server, out string) []string {
			return []string{"import", "--out", out, workbook}
		}, ExitUsage, "Excel workbook"},
		{"verify a file that is no archive", func(_ *graphtest.Server, _ string) []string {
			return []string{"verify", notArchive}
		}, ExitVerify, "verify " + notArchive + ": not a zstd-compressed archive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newSim(t, graphtest.Config{Seed: 5})
			out := filepath.Join(t.TempDir(), "out")
			code, _, stderr := invoke(t, keyEnv, c.args(srv, out)...)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s", code, c.code, stderr)
			}
			stderrOneLine(t, c.name, stderr, c.want)
			for _, p := range []string{notArchive, "verify "} { // each thing said once
				if n := strings.Count(stderr, p); n > 1 {
					t.Errorf("stderr says %q %d times: %s", p, n, stderr)
				}
			}
			if n := srv.Tenant.Stats().Requests; n != 0 {
				t.Errorf("%d requests reached the tenant before the refusal", n)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("the refused run left %d entries in --out", len(entries))
			}
		})
	}
}

// TestCustodyDetailRedacted: a SAS, a connection string's key or a token
// typed into custody append never reaches the signed custody log.
func TestCustodyDetailRedacted(t *testing.T) {
	key := testKey(t)
	dir := signedDir(t, key)
	code, _, stderr := invoke(t, keyEnv, "custody", "append", dir, "--action", "uploaded", "--sign-key", key+".key",
		"--detail", "url=https://acct.blob.core.windows.net/evidence/x.tar.zst?sv=2022-11-02&se=2026-12-31&sp=r&sig=c2VjcmV0c2ln",
		"--detail", "conn=DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0a2V5",
		"--detail", "sas_token=sv=2022&sig=c2VjcmV0MiJ",
		"--note", "handed over with Authorization: Bearer eyJzZWNyZXQ")
	if code != ExitOK {
		t.Fatalf("custody append: exit %d\n%s", code, stderr)
	}
	log, _ := os.ReadFile(filepath.Join(dir, manifest.CustodyLogName))
	for _, secret := range []string{"c2VjcmV0c2ln", "c2VjcmV0a2V5", "c2VjcmV0MiJ", "eyJzZWNyZXQ"} {
		if strings.Contains(string(log), secret) || strings.Contains(stderr, secret) {
			t.Errorf("%s reached the custody log or stderr", secret)
		}
	}
	if !strings.Contains(string(log), "acct.blob.core.windows.net/evidence/x.tar.zst?sv=2022-11-02") {
		t.Errorf("the URL itself was lost:\n%s", log)
	}
	if code, out, _ := invoke(t, nil, "verify", "--pubkey", key+".pub", dir); code != ExitOK {
		t.Errorf("verify after a redacted append: exit %d\n%s", code, out)
	}
}
