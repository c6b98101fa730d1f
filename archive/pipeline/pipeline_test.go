package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

func signer(t *testing.T) seal.Signer {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "k")
	if _, err := seal.GenerateKey(prefix, []byte("pipeline test"), "test"); err != nil {
		t.Fatal(err)
	}
	s, err := seal.LoadSigningKey(prefix+".key", func() ([]byte, error) { return []byte("pipeline test"), nil })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// importPlan seals the portal download in testdata with the given outputs.
func importPlan(t *testing.T, out string, s seal.Signer, outputs ...pipeline.Deliverer) pipeline.Plan {
	started := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	m := &manifest.Manifest{Format: manifest.Format, CaseID: "00000000-0000-4000-8000-0000000000aa", Examiner: "J. Doe", Host: "h", OSUser: "u",
		Tool: manifest.Tool{Name: "evidence", Version: "test"}, CollectionStart: manifest.FormatTime(started)}
	return pipeline.Plan{
		Out: out, Name: "evidence-import-test", Manifest: m, Started: started, Now: func() time.Time { return started.Add(time.Minute) },
		Collectors: []pipeline.Collector{pipeline.Imports{Files: []string{"testdata/AuditLogs_2026-11-20.csv"}}},
		Seal:       pipeline.Seal{Signer: s, Sources: []string{"import"}}, Readme: pipeline.ImportReadme, Outputs: outputs,
	}
}

// TestImportSealedLikeGrab: a bundle with no Graph connection at all (an
// import) is sealed the same way as a collection: signature, custody.json,
// a signed custody log bound to SHA256SUMS (and continued beside the
// archive), report.html; the archive reads back with the SHA-256 written,
// and Find recognises it by its content.
func TestImportSealedLikeGrab(t *testing.T) {
	s := signer(t)
	out := t.TempDir()
	plan := importPlan(t, out, s, pipeline.Tar{})
	res, err := pipeline.Run(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Deliveries[0]
	if d.Form != pipeline.FormTar || !d.Verified.OK() || res.Path != d.Location || !strings.HasSuffix(d.Location, ".tar.zst") {
		t.Fatalf("tar delivery %+v, problems %v", d, d.Verified.Problems)
	}
	if d.Seal == nil || d.Seal.Signature == nil || !d.Seal.Signature.Trusted || d.Seal.Custody == nil || len(d.Seal.Custody.Entries) != 3 {
		t.Fatalf("seal: %+v", d.Seal)
	}
	for i, e := range d.Seal.Custody.Entries {
		if !e.Signed || !e.Valid || !e.Trusted {
			t.Fatalf("custody entry %d (%s): %+v", i+1, e.Action, e)
		}
	}
	if a := d.Seal.Custody.Entries[0]; a.Action != manifest.ActionCollected || !strings.Contains(a.Details["imported"], "AuditLogs_2026-11-20.csv") {
		t.Fatalf("the first custody entry does not name the imported file: %+v", a.Details)
	}
	for _, name := range []string{manifest.SigName, manifest.CustodyLogName, manifest.CustodyName} {
		if _, ok := d.Verified.Seal[name]; !ok {
			t.Fatalf("%s was not read back from the archive", name)
		}
	}
	files := map[string]bool{}
	for _, f := range res.Manifest.Files {
		files[f.Path] = true
	}
	if !files["report.html"] || !files["README.txt"] || !files[manifest.CustodyName] || !files["imported/AuditLogs_2026-11-20.csv"] {
		t.Fatalf("sealed files: %v", files)
	}
	if _, err := os.Stat(filepath.Join(out, "evidence-import-test")); !os.IsNotExist(err) {
		t.Fatal("the sealed directory was kept beside a verified archive")
	}

	found, err := pipeline.Find(context.Background(), plan, "evidence-import-test")
	if err != nil || found[0] == nil || found[0].SHA256 != d.SHA256 || found[0].Content != d.Content {
		t.Fatalf("Find: %+v %v, delivered %s %s", found, err, d.SHA256, d.Content)
	}
	if found, err := pipeline.Find(context.Background(), plan, "no-such-bundle"); err != nil || found[0] != nil {
		t.Fatalf("Find of an absent bundle: %+v %v", found, err)
	}
}

// TestDirOutput: the directory form is verified in place, and its SHA-256
// is the SHA-256 of its SHA256SUMS, the same content hash an archive of it
// reports.
func TestDirOutput(t *testing.T) {
	out := t.TempDir()
	res, err := pipeline.Run(context.Background(), importPlan(t, out, nil, pipeline.Dir{}))
	if err != nil {
		t.Fatal(err)
	}
	d := res.Deliveries[0]
	sum, err := pipeline.DirSHA256(d.Location)
	if err != nil || d.SHA256 != sum || d.Content != sum || !d.Verified.OK() || res.Path != d.Location {
		t.Fatalf("dir delivery %+v (%s, %v)", d, sum, err)
	}
	if d.Seal.Signature != nil || len(d.Seal.Notes) == 0 || !strings.Contains(d.Seal.Notes[0], "UNSIGNED") {
		t.Fatalf("an unsigned bundle's seal: %+v", d.Seal)
	}
}
