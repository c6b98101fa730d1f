package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
)

// TestImportPortalDownloads: portal-style CSV and JSON downloads are sealed
// byte for byte, with their SHA-256 at import time, who and when, kind,
// record count and time range; the bundle verifies with evidence and
// sha256sum; a re-saved file without UTC times is flagged.
func TestImportPortalDownloads(t *testing.T) {
	files := []string{
		"testdata/InteractiveSignIns_2026-11-13_2026-11-20.csv",
		"testdata/NonInteractiveSignIns_2026-11-13_2026-11-20.json",
		"testdata/AuditLogs_2026-11-20.csv",
		"testdata/SignIns_resaved_local_time.csv",
	}
	out := t.TempDir()
	args := append([]string{"import", "--out", out, "--examiner", "J. Doe", "--note", "downloaded by the tenant admin"}, files...)
	code, stdout, stderr := invoke(t, nil, args...)
	if code != ExitOK {
		t.Fatalf("import exit %d\n%s", code, stderr)
	}
	path := lastLine(stdout)
	if !strings.HasSuffix(path, ".tar.zst") {
		t.Fatalf("last stdout line %q", path)
	}
	if c, o, _ := invoke(t, nil, "verify", path); c != ExitOK {
		t.Fatalf("verify exit %d: %s", c, o)
	}
	dir := t.TempDir()
	extract(t, path, dir)
	cmd := exec.Command("sha256sum", "-c", "--strict", manifest.SumsName)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, b)
	}
	m := readManifest(t, dir)
	if !m.Complete || len(m.Imports) != 4 || m.Examiner != "J. Doe" {
		t.Fatalf("manifest: complete %v, %d imports, examiner %q", m.Complete, len(m.Imports), m.Examiner)
	}
	want := []struct {
		kind        string
		records     int64
		first, last string
		warn        string
	}{
		{"signins.interactive", 4, "2026-11-13T23:59:59.1234567Z", "2026-11-15T06:01:32Z", ""},
		{"signins.noninteractive", 3, "2026-11-15T06:06:30.5Z", "2026-11-17T08:06:30Z", ""},
		{"audits", 3, "2026-11-15T06:04:10.1234567Z", "2026-11-16T09:17:29Z", ""},
		{"signins.user", 2, "", "", "no time zone"},
	}
	for i, f := range files {
		imp := m.Imports[i]
		orig, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(imp.Path)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(orig)
		if string(sealed) != string(orig) || imp.SHA256 != hex.EncodeToString(sum[:]) || imp.Size != int64(len(orig)) {
			t.Errorf("%s: sealed bytes or hash differ from the original", f)
		}
		if imp.OriginalName != filepath.Base(f) || !strings.HasPrefix(imp.ImportedBy, "J. Doe") || imp.ImportedAt != m.CollectionStart {
			t.Errorf("%s: provenance %+v", f, imp)
		}
		w := want[i]
		if imp.Kind != w.kind || imp.Records == nil || *imp.Records != w.records || imp.First != w.first || imp.Last != w.last {
			t.Errorf("%s: kind %s, records %v, range %s .. %s; want %+v", f, imp.Kind, imp.Records, imp.First, imp.Last, w)
		}
		warned := strings.Contains(strings.Join(imp.Warnings, "; "), "no time zone")
		if warned != (w.warn != "") {
			t.Errorf("%s: warnings %v", f, imp.Warnings)
		}
		var listed bool
		for _, mf := range m.Files {
			listed = listed || mf.Path == imp.Path && mf.SHA256 == imp.SHA256
		}
		if !listed {
			t.Errorf("%s: not in manifest files with its hash", imp.Path)
		}
	}
	if m.Requested != manifest.NewWindow(mustTime(t, "2026-11-13T23:59:59.1234567Z"), mustTime(t, "2026-11-17T08:06:30.0000001Z")) {
		t.Errorf("covered window %+v", m.Requested)
	}
	if !strings.Contains(stderr, "no time zone") {
		t.Errorf("the non-UTC warning is not shown:\n%s", stderr)
	}
}

// TestImportUnreadable: a file that is not a download is still sealed as
// it is, but the bundle says its records could not be read (exit 3); a
// missing file is a usage error and writes nothing.
func TestImportUnreadable(t *testing.T) {
	out := t.TempDir()
	junk := filepath.Join(t.TempDir(), "notes.json")
	if err := os.WriteFile(junk, []byte("{\"hello\": 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := invoke(t, nil, "import", "--out", out, "--bundle", "dir", junk)
	if code != ExitIncomplete {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	m := readManifest(t, lastLine(stdout))
	if m.Complete || len(m.Imports) != 1 || m.Imports[0].Kind != "unknown" || m.Imports[0].Records != nil {
		t.Fatalf("manifest %+v", m.Imports)
	}
	empty := t.TempDir()
	if code, _, _ := invoke(t, nil, "import", "--out", empty, filepath.Join(empty, "missing.csv")); code != ExitUsage {
		t.Fatalf("missing file: exit %d", code)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("a failed import left %d entries", len(entries))
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestImportSigned: `import --sign-key` seals an imported portal download
// exactly like a grab: SHA256SUMS signed by the key, custody.json and a
// custody log whose entries are signed and list the imported file, the
// archive's custody log beside it, and report.html; `verify --pubkey`
// trusts it, and `custody append` extends it.
func TestImportSigned(t *testing.T) {
	prefix := testKey(t)
	env := map[string]string{EnvKeyPassword: testPassphrase}
	out := t.TempDir()
	code, stdout, stderr := invoke(t, env, "import", "--out", out, "--sign-key", prefix+".key",
		"testdata/InteractiveSignIns_2026-11-13_2026-11-20.csv")
	if code != ExitOK {
		t.Fatalf("import exit %d\n%s", code, stderr)
	}
	path := lastLine(stdout)
	code, vout, verr := invoke(t, env, "verify", "--require-signature", "--pubkey", prefix+".pub", path)
	if code != ExitOK || !strings.Contains(vout+verr, "custody") {
		t.Fatalf("verify --pubkey: exit %d\n%s\n%s", code, vout, verr)
	}
	dir := t.TempDir()
	extract(t, path, dir)
	m := readManifest(t, dir)
	if m.Seal == nil || m.Seal.KeyFingerprint == "" || m.Seal.CustodyLog != manifest.CustodyLogName {
		t.Fatalf("manifest seal: %+v", m.Seal)
	}
	for _, name := range []string{manifest.SigName, manifest.CustodyName, manifest.CustodyLogName, "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("the import bundle lacks %s: %v", name, err)
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, manifest.CustodyLogName))
	if !strings.Contains(string(log), "InteractiveSignIns_2026-11-13_2026-11-20.csv") || !strings.Contains(string(log), `"sig":`) {
		t.Fatalf("custody log does not list the signed import:\n%s", log)
	}
	if _, err := os.Stat(manifest.CustodyPathFor(path)); err != nil {
		t.Fatalf("no custody log beside the archive: %v", err)
	}
	code, _, stderr = invoke(t, env, "custody", "append", "--actor", "J. Doe", "--action", "transferred", "--sign-key", prefix+".key", path)
	if code != ExitOK {
		t.Fatalf("custody append: exit %d\n%s", code, stderr)
	}
}

// TestImportManagedIdentityDownload: the admin center's managed identity
// tab downloads MSISignIns_*.json, whose records look like service
// principal sign-ins; import seals it as managed identity sign-ins.
func TestImportManagedIdentityDownload(t *testing.T) {
	in := filepath.Join(t.TempDir(), "MSISignIns_2026-11-13_2026-11-20.json")
	body := `[{"id":"5d1c","createdDateTime":"2026-11-17T03:04:05Z","servicePrincipalId":"0b6e","servicePrincipalName":"vm-backup","appId":"7f3a","status":{"errorCode":0}}]`
	if err := os.WriteFile(in, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := invoke(t, nil, "import", "--out", t.TempDir(), "--bundle", "dir", in)
	if code != ExitOK {
		t.Fatalf("import exit %d\n%s", code, stderr)
	}
	m := readManifest(t, lastLine(stdout))
	if len(m.Imports) != 1 || m.Imports[0].Kind != "signins.managedidentity" {
		t.Fatalf("imports: %+v", m.Imports)
	}
}

// TestImportScope: a portal download holding two users and days outside
// the asked window. `import --user --since --until` seals each original
// unchanged, counts the records outside the scope, splits each file's
// records byte for byte into <name>.in-scope and <name>.out-of-scope
// beside it, names them in the manifest and the report, verifies, and
// exits 3; without the flags the scope is "as downloaded"; bad scope flags
// are usage errors before anything is written.
func TestImportScope(t *testing.T) {
	files := []string{
		"testdata/InteractiveSignIns_2026-11-13_2026-11-20.csv",     // victim x3 in the window, sōta on 2026-11-13
		"testdata/NonInteractiveSignIns_2026-11-13_2026-11-20.json", // victim on the 15th, 16th and 17th
		"testdata/AuditLogs_2026-11-20.csv",                         // victim as actor or target, all in the window
	}
	out := t.TempDir()
	args := append([]string{"import", "--out", out, "--bundle", "dir", "--user", "victim@contoso.com", "--since", "2026-11-14", "--until", "2026-11-16T12:00:00Z"}, files...)
	code, stdout, stderr := invoke(t, nil, args...)
	if code != ExitIncomplete {
		t.Fatalf("import exit %d, want %d\n%s", code, ExitIncomplete, stderr)
	}
	dir := lastLine(stdout)
	if c, o, e := invoke(t, nil, "verify", dir); c != ExitIncomplete && c != ExitOK {
		t.Fatalf("verify exit %d\n%s%s", c, o, e)
	} else if strings.Contains(o+e, "inconsistent") {
		t.Fatalf("verify: %s%s", o, e)
	}
	m := readManifest(t, dir)
	if m.Complete || len(m.Users) != 1 || m.Users[0].UPN != "victim@contoso.com" ||
		m.Requested != manifest.NewWindow(mustTime(t, "2026-11-14T00:00:00Z"), mustTime(t, "2026-11-16T12:00:00Z")) {
		t.Fatalf("manifest: complete %v, users %+v, requested %+v", m.Complete, m.Users, m.Requested)
	}
	want := []struct {
		in, out  int64
		inHas    []string
		outHas   []string
		jsonForm bool
	}{
		{3, 1, []string{"4ad2c68c-2f1f-5b76-a794-2c378820da9e"}, []string{"sōta@contoso.co.jp"}, false},
		{2, 1, []string{`"createdDateTime": "2026-11-16T06:06:30Z"`}, []string{`"createdDateTime": "2026-11-17T08:06:30Z"`}, true},
		{3, 0, nil, nil, false},
	}
	for i, f := range files {
		imp, w := m.Imports[i], want[i]
		orig, _ := os.ReadFile(f)
		sealed, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(imp.Path)))
		if string(sealed) != string(orig) {
			t.Errorf("%s: the original was changed", f)
		}
		if imp.InScope == nil || *imp.InScope != w.in || imp.OutOfScope != w.out || !strings.Contains(imp.Scope, "victim@contoso.com") || !strings.Contains(imp.Scope, "2026-11-16T12:00:00Z") {
			t.Errorf("%s: scope %q, in %v, out %d; want %d, %d", f, imp.Scope, imp.InScope, imp.OutOfScope, w.in, w.out)
			continue
		}
		if w.out == 0 {
			if imp.SubjectPath != "" || imp.OutOfScopePath != "" {
				t.Errorf("%s: split although every record is in scope", f)
			}
			continue
		}
		ext := filepath.Ext(imp.Path)
		if imp.SubjectPath != strings.TrimSuffix(imp.Path, ext)+".in-scope"+ext || imp.OutOfScopePath != strings.TrimSuffix(imp.Path, ext)+".out-of-scope"+ext {
			t.Errorf("%s: split into %q and %q", f, imp.SubjectPath, imp.OutOfScopePath)
		}
		in, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(imp.SubjectPath)))
		oos, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(imp.OutOfScopePath)))
		for _, h := range w.inHas {
			if !strings.Contains(string(in), h) || strings.Contains(string(oos), h) {
				t.Errorf("%s: %q not only in the subject's file", f, h)
			}
		}
		for _, h := range w.outHas {
			if !strings.Contains(string(oos), h) || strings.Contains(string(in), h) {
				t.Errorf("%s: %q not only in the out-of-scope file", f, h)
			}
		}
		if !w.jsonForm {
			// Every data row of the original is in exactly one side, byte for byte.
			lines := strings.SplitAfter(string(orig), "\r\n")
			header := lines[0]
			if !strings.HasPrefix(string(in), header) || !strings.HasPrefix(string(oos), header) {
				t.Errorf("%s: a side lacks the original header", f)
			}
			if len(in)+len(oos)-len(header) != len(orig) {
				t.Errorf("%s: sides hold %d bytes past one header, the original %d", f, len(in)+len(oos)-len(header), len(orig))
			}
		}
		if !strings.Contains(stderr, imp.OutOfScopePath) {
			t.Errorf("stderr does not name %s:\n%s", imp.OutOfScopePath, stderr)
		}
	}
	readme, _ := os.ReadFile(filepath.Join(dir, manifest.ReadmeName))
	if !strings.Contains(string(readme), "imported/InteractiveSignIns_2026-11-13_2026-11-20.in-scope.csv (the\n    subject's)") {
		t.Errorf("README.txt does not explain the split:\n%s", readme)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if !strings.Contains(string(html), "kept apart, byte-exact, in imported/InteractiveSignIns_2026-11-13_2026-11-20.out-of-scope.csv") {
		t.Errorf("report.html does not name the records kept apart")
	}

	// Without scope flags: as downloaded, complete, no split.
	code, stdout, stderr = invoke(t, nil, "import", "--out", t.TempDir(), "--bundle", "dir", files[0])
	if code != ExitOK {
		t.Fatalf("import exit %d\n%s", code, stderr)
	}
	m = readManifest(t, lastLine(stdout))
	if !strings.HasPrefix(m.Imports[0].Scope, "as downloaded") || m.Imports[0].InScope != nil || len(m.Users) != 0 {
		t.Errorf("as downloaded: %+v", m.Imports[0])
	}
	html, _ = os.ReadFile(filepath.Join(lastLine(stdout), "report.html"))
	if !strings.Contains(string(html), "As downloaded") || strings.Contains(string(html), "All users of the tenant") {
		t.Errorf("report.html does not say the scope is as downloaded")
	}

	for _, bad := range [][]string{{"--user", "victim"}, {"--since", "yesterday"}, {"--since", "2026-11-16", "--until", "2026-11-15"}} {
		empty := t.TempDir()
		code, _, stderr := invoke(t, nil, append(append([]string{"import", "--out", empty}, bad...), files[0])...)
		if code != ExitUsage || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%v: exit %d\n%s", bad, code, stderr)
		}
		if entries, _ := os.ReadDir(empty); len(entries) != 0 {
			t.Errorf("%v: a refused import left %d entries", bad, len(entries))
		}
	}
}
