package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/ual"
	"github.com/evidence-dfir/evidence/manifest"
)

// grabKillSteps are the named steps of a grab with the unified audit log
// (which keeps resume state), signed, delivered as an archive, in order.
// Pages and audit log state writes happen many times: two occurrences of
// each are sampled.
var grabKillSteps = []string{
	pipeline.StepResumeSaved, collect.StepPage + "#1", collect.StepPage + "#4", ual.StepState + "#2", ual.StepState + "#6",
	pipeline.StepCollected, pipeline.StepSums, pipeline.StepSigned, pipeline.StepSealed, pipeline.StepCommitted,
	pipeline.StepArchiveWritten, pipeline.StepArchived, pipeline.StepArchiveCustody, "delivered:tar", pipeline.StepResumeRemoving,
}

// runIn runs the binary in dir with args and extra environment and
// returns its exit code (-1 when a signal ended it), stdout and stderr.
func runIn(t *testing.T, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(evidenceBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), stdout.String(), stderr.String()
		}
		t.Fatalf("%v: %v", args, err)
	}
	return 0, stdout.String(), stderr.String()
}

// TestGrabCrashPoints kills a real `evidence grab` process (SIGKILL) at
// every named step in turn, then runs `grab --resume OUT` from another
// working directory (the signing key was given by a relative path), and
// compares the bundle with one from a run without a kill: the same
// records, none lost, none twice; one archive and its custody log in
// --out, no work file left; and nothing a killed run left behind passes
// verify.
func TestGrabCrashPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess kill test skipped with -short")
	}
	srv := newSim(t, graphtest.Config{Seed: 47, SignInsPerUser: 40, AuditsPerUser: 30,
		UAL: graphtest.UAL{RecordsPerUser: 400, MaxPageSize: 50}})
	keyDir := filepath.Dir(testKey(t))
	env := []string{"EVIDENCE_GRAPH_TOKEN=" + testToken, EnvKeyPassword + "=" + testPassphrase}
	args := func(out string) []string {
		return []string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", out, "--bundle", "tar",
			"--since", fixedNow.Add(-7 * 24 * time.Hour).Format(time.RFC3339), "--until", fixedNow.Format(time.RFC3339),
			"--budget", "reports=50/20ms", "--retry-base", "1ms", "--sources", "signins,audits,ual", "--signin-kinds", "interactive",
			"--page-size", "2", "--ual-poll", "5ms", "--ual-page-size", "50", "--ual-windows", "4",
			"--user", srv.Tenant.Victim().UPN, "--sign-key", "signer.key"}
	}
	cleanOut := t.TempDir()
	code, stdout, stderr := runIn(t, keyDir, env, args(cleanOut)...)
	if code != ExitOK {
		t.Fatalf("clean run: exit %d\n%s", code, stderr)
	}
	clean := archiveRecords(t, lastLine(stdout))
	if len(clean) == 0 {
		t.Fatal("the clean bundle holds no records: the comparison would prove nothing")
	}

	for _, step := range grabKillSteps {
		t.Run(strings.ReplaceAll(step, "#", "_"), func(t *testing.T) {
			out := t.TempDir()
			code, _, stderr := runIn(t, keyDir, append(env, pipeline.EnvKillAt+"="+step), args(out)...)
			if code != -1 {
				t.Fatalf("the run was not killed at %q: exit %d\n%s", step, code, stderr)
			}
			leftBehindFails(t, out)
			code, stdout, stderr = runIn(t, t.TempDir(), env, "grab", "--resume", out)
			if code != ExitOK {
				t.Fatalf("grab --resume after a kill at %q: exit %d\n%s", step, code, stderr)
			}
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			var archives []string
			for _, e := range entries {
				switch n := e.Name(); {
				case strings.HasSuffix(n, manifestArchiveSuffix):
					archives = append(archives, filepath.Join(out, n))
				case strings.HasSuffix(n, ".custody.jsonl"):
				default:
					t.Errorf("left in --out after the resume: %s", n)
				}
			}
			if len(archives) != 1 || lastLine(stdout) != archives[0] {
				t.Fatalf("after the resume --out holds archives %v; the resume printed %q", archives, lastLine(stdout))
			}
			if code, stdout, stderr := invokeCtx(context.Background(), "verify", "--pubkey", filepath.Join(keyDir, "signer.pub"), archives[0]); code != ExitOK {
				t.Fatalf("the resumed bundle does not verify: exit %d\n%s%s", code, stdout, stderr)
			}
			if missing, extra := multisetDiff(clean, archiveRecords(t, archives[0])); len(missing)+len(extra) > 0 {
				t.Fatalf("killed at %q and resumed: %d records lost, %d extra (first lost %v, first extra %v)",
					step, len(missing), len(extra), first(missing), first(extra))
			}
		})
	}
	testGrabFormCrashPoints(t, keyDir)
}

// grabFormKillSteps are, for the delivery forms other than tar, the named
// steps of a grab from the seal on (the collection's steps are the same
// for every form and the tar run covers them): each seal step, the
// commit and the form's delivery. For --bundle blob (an archive uploaded,
// then removed) only the steps where what is left differs from tar,blob's.
var grabFormKillSteps = []struct {
	form  string
	steps []string
}{
	{"tar,blob", []string{pipeline.StepSums, pipeline.StepSigned, pipeline.StepSealed, pipeline.StepCommitted,
		pipeline.StepArchiveWritten, pipeline.StepArchived, pipeline.StepArchiveCustody, "delivered:tar",
		blob.StepStaged, blob.StepCreated, pipeline.StepBlobReceipt, "delivered:blob", pipeline.StepResumeRemoving}},
	{"blob", []string{"delivered:tar", blob.StepStaged, blob.StepCreated, pipeline.StepBlobReceipt, "delivered:blob", pipeline.StepResumeRemoving}},
	{"dir", []string{pipeline.StepSums, pipeline.StepSigned, pipeline.StepSealed, pipeline.StepCommitted, "delivered:dir", pipeline.StepResumeRemoving}},
}

// testGrabFormCrashPoints is TestGrabCrashPoints for --bundle tar,blob and
// blob (on Azurite) and dir, with a small collection: killed at each step
// of grabFormKillSteps and resumed, the bundle holds the records of a run
// without a kill; there is one archive, one blob, one directory (as the
// form writes them) and nothing else in --out or under the blob prefix;
// the blob is the archive's bytes and its receipt says so. A blob already
// under the bundle's name that holds anything else is refused in one line
// and left as it was.
func testGrabFormCrashPoints(t *testing.T, keyDir string) {
	srv := newSim(t, graphtest.Config{Seed: 49, SignInsPerUser: 12, AuditsPerUser: 8})
	env := []string{"EVIDENCE_GRAPH_TOKEN=" + testToken, EnvKeyPassword + "=" + testPassphrase}
	args := func(out, form string, extra ...string) []string {
		return append([]string{"grab", "--graph-url", srv.URL, "--auth", "token", "--out", out, "--bundle", form,
			"--since", fixedNow.Add(-7 * 24 * time.Hour).Format(time.RFC3339), "--until", fixedNow.Format(time.RFC3339),
			"--budget", "reports=50/20ms", "--retry-base", "1ms", "--sources", "signins,audits", "--signin-kinds", "interactive",
			"--user", srv.Tenant.Victim().UPN, "--sign-key", "signer.key"}, extra...)
	}
	code, stdout, stderr := runIn(t, keyDir, env, args(t.TempDir(), "tar")...)
	if code != ExitOK {
		t.Fatalf("clean run: exit %d\n%s", code, stderr)
	}
	clean := archiveRecords(t, lastLine(stdout))
	if len(clean) == 0 {
		t.Fatal("the clean bundle holds no records: the comparison would prove nothing")
	}
	var az *azuritetest.Server
	var cc *container.Client
	forms := func(t *testing.T, blobForms bool) {
		var blobEnv []string
		if blobForms {
			az = azuritetest.Start(t)
			cc = az.CreateContainer(t, "evidence")
			sas := az.ContainerSAS(t, "evidence", "racw")
			t.Setenv(blob.EnvSAS, sas) // for reading the blob back in this process
			t.Setenv(blob.EnvConnectionString, "")
			blobEnv = []string{blob.EnvSAS + "=" + sas, blob.EnvConnectionString + "="}
		}
		for _, f := range grabFormKillSteps {
			if strings.Contains(f.form, "blob") != blobForms {
				continue
			}
			t.Run(strings.ReplaceAll(f.form, ",", "+"), func(t *testing.T) {
				for _, step := range f.steps {
					t.Run(strings.ReplaceAll(step, ":", "_"), func(t *testing.T) {
						out, prefix := t.TempDir(), strings.NewReplacer(",", "-", ":", "-").Replace(f.form+"-"+step)
						var extra []string
						if blobEnv != nil {
							extra = []string{"--blob-url", az.ContainerURL("evidence") + "/" + prefix, "--allow-mutable"}
						}
						env := append(append([]string(nil), env...), blobEnv...)
						code, _, stderr := runIn(t, keyDir, append(env, pipeline.EnvKillAt+"="+step), args(out, f.form, extra...)...)
						if code != -1 {
							t.Fatalf("the run was not killed at %q: exit %d\n%s", step, code, stderr)
						}
						leftBehindFails(t, out)
						code, stdout, stderr := runIn(t, t.TempDir(), env, "grab", "--resume", out)
						if code != ExitOK {
							t.Fatalf("grab --resume after a kill at %q: exit %d\n%s", step, code, stderr)
						}
						var c *container.Client
						if blobEnv != nil {
							c = cc
						}
						checkFormDelivered(t, f.form, out, lastLine(stdout), c, prefix, keyDir, clean)
					})
				}
			})
		}
		if blobForms {
			t.Run("taken", func(t *testing.T) { testGrabResumeBlobTaken(t, keyDir, env, az, cc, args) })
			for _, step := range []string{pipeline.StepSums, blob.StepStaged} {
				t.Run("interrupt_"+strings.ReplaceAll(step, ":", "_"), func(t *testing.T) {
					testGrabInterrupted(t, step, keyDir, append(append([]string(nil), env...), blobEnv...), az, cc, args, clean)
				})
			}
		}
	}
	t.Run("dir", func(t *testing.T) { forms(t, false) })
	t.Run("blob", func(t *testing.T) { forms(t, true) })
}

// testGrabResumeBlobTaken: a grab killed once its archive is written, whose
// blob name someone else then takes, is refused by grab --resume in one
// line (exit 2), and the blob there is left as it was.
func testGrabResumeBlobTaken(t *testing.T, keyDir string, env []string, az *azuritetest.Server, cc *container.Client, args func(out, form string, extra ...string) []string) {
	{
		out, prefix := t.TempDir(), "taken"
		env := append(append([]string(nil), env...), blob.EnvSAS+"="+az.ContainerSAS(t, "evidence", "racw"), blob.EnvConnectionString+"=")
		a := args(out, "tar,blob", "--blob-url", az.ContainerURL("evidence")+"/"+prefix, "--allow-mutable")
		if code, _, stderr := runIn(t, keyDir, append(env, pipeline.EnvKillAt+"=delivered:tar"), a...); code != -1 {
			t.Fatalf("the run was not killed: exit %d\n%s", code, stderr)
		}
		archives, _ := filepath.Glob(filepath.Join(out, "*"+manifestArchiveSuffix))
		if len(archives) != 1 {
			t.Fatalf("the killed run left archives %v", archives)
		}
		name := prefix + "/" + filepath.Base(archives[0])
		if _, err := cc.NewBlockBlobClient(name).UploadBuffer(context.Background(), []byte("someone else's"), nil); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runIn(t, t.TempDir(), env, "grab", "--resume", out)
		if code != ExitFailed || strings.Count(stderr, "evidence:") != 1 || !strings.Contains(stderr, "is not this bundle's") || !strings.Contains(stderr, "never overwritten") {
			t.Fatalf("grab --resume with another blob under the bundle's name: exit %d, want %d and one line saying so:\n%s", code, ExitFailed, stderr)
		}
		dl, err := cc.NewBlockBlobClient(name).DownloadStream(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(dl.Body)
		dl.Body.Close()
		if string(b) != "someone else's" {
			t.Errorf("the blob that was there was overwritten: %d bytes", len(b))
		}
		if names := blobNames(t, cc, prefix); len(names) != 1 {
			t.Errorf("under the prefix after the refusal: %v", names)
		}
	}
}

// testGrabInterrupted sends a real grab --bundle tar,blob SIGINT (a Ctrl-C)
// at step, a seal step or the upload's (every block staged, the blob not
// yet created): the seal is finished and the delivery stops, exit 2 with
// one line saying where the sealed bundle is and that `grab --resume`
// delivers it; the resume state is kept, no blob exists; then grab
// --resume ends as a run without the signal: one archive, one blob, the
// same records, nothing else left.
func testGrabInterrupted(t *testing.T, step, keyDir string, env []string, az *azuritetest.Server, cc *container.Client, args func(out, form string, extra ...string) []string, clean []string) {
	out, prefix := t.TempDir(), "interrupt-"+strings.ReplaceAll(step, ":", "-")
	a := args(out, "tar,blob", "--blob-url", az.ContainerURL("evidence")+"/"+prefix, "--allow-mutable")
	code, _, stderr := runIn(t, keyDir, append(env, collect.EnvInterruptAt+"="+step), a...)
	if code != ExitFailed || strings.Count(stderr, "evidence:") != 1 || !strings.Contains(stderr, "evidence: interrupted (") ||
		!strings.Contains(stderr, "once the bundle was sealed") || !strings.Contains(stderr, "evidence grab --resume "+out) {
		t.Fatalf("SIGINT at %q: exit %d, want %d and one line saying the sealed bundle is kept for grab --resume:\n%s", step, code, ExitFailed, stderr)
	}
	if names := blobNames(t, cc, prefix); len(names) != 0 {
		t.Fatalf("SIGINT at %q left blobs %v", step, names)
	}
	if resume, _ := filepath.Glob(filepath.Join(out, ".*.resume")); len(resume) != 1 {
		t.Fatalf("SIGINT at %q: the resume state is not kept (%v)", step, resume)
	}
	leftBehindFails(t, out)
	code, stdout, stderr := runIn(t, t.TempDir(), env, "grab", "--resume", out)
	if code != ExitOK {
		t.Fatalf("grab --resume after SIGINT at %q: exit %d\n%s", step, code, stderr)
	}
	checkFormDelivered(t, "tar,blob", out, lastLine(stdout), cc, prefix, keyDir, clean)
}

// leftBehindFails checks that no hidden file or directory a killed run
// left in out (but its resume state) passes verify.
func leftBehindFails(t *testing.T, out string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(out, ".*"))
	for _, p := range left {
		if strings.HasSuffix(p, ".resume") {
			continue
		}
		if code, _, _ := invokeCtx(context.Background(), "verify", p); code == ExitOK {
			t.Errorf("%s, left by the killed run, passes verify", filepath.Base(p))
		}
	}
}

// checkFormDelivered checks what a resumed grab delivered in form: in
// out, exactly the files the form keeps; under the blob prefix, exactly
// one blob, the archive's bytes (its receipt says they match); printed
// last, where the bundle is; the bundle verifies with the signing key and
// holds the clean run's records, none lost, none twice.
func checkFormDelivered(t *testing.T, form, out, printed string, cc *container.Client, prefix, keyDir string, clean []string) {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	var want []string
	name := ""
	for _, n := range names {
		if strings.HasPrefix(n, "evidence-") && !strings.Contains(n, ".") {
			name = n // a directory
		} else if b, ok := strings.CutSuffix(n, manifest.CustodySuffix); ok {
			name = b
		}
	}
	switch form {
	case "dir":
		want = []string{name}
	case "tar,blob":
		want = []string{name + manifest.CustodySuffix, name + manifestArchiveSuffix, name + manifestArchiveSuffix + ".upload.json"}
	case "blob":
		want = []string{name + manifest.CustodySuffix, name + manifestArchiveSuffix + ".upload.json"}
	}
	if name == "" || !slices.Equal(names, want) {
		t.Fatalf("after the resume --out holds %v, want %v", names, want)
	}
	local := filepath.Join(out, want[0])
	if form == "tar,blob" {
		local = filepath.Join(out, want[1])
	}
	loc := local
	if cc != nil {
		blobs := blobNames(t, cc, prefix)
		if len(blobs) != 1 || blobs[0] != prefix+"/"+name+manifestArchiveSuffix {
			t.Fatalf("after the resume the blob prefix holds %v, want the one bundle", blobs)
		}
		rc := readReceipt(t, filepath.Join(out, name+manifestArchiveSuffix+".upload.json"))
		if !rc.SHA256Matches || !strings.HasSuffix(rc.URL, "/"+blobs[0]) {
			t.Fatalf("the receipt does not confirm the blob: %+v", rc)
		}
		if form == "tar,blob" {
			if sum := sha256File(t, local); rc.SHA256 != sum {
				t.Fatalf("the blob's SHA-256 %s is not the local archive's %s", rc.SHA256, sum)
			}
		} else {
			loc = rc.URL
		}
	}
	if printed != loc {
		t.Fatalf("the resume printed %q last, want %q", printed, loc)
	}
	if code, stdout, stderr := invokeCtx(context.Background(), "verify", "--pubkey", filepath.Join(keyDir, "signer.pub"), loc); code != ExitOK {
		t.Fatalf("the resumed bundle does not verify: exit %d\n%s%s", code, stdout, stderr)
	}
	if missing, extra := multisetDiff(clean, locationRecords(t, loc)); len(missing)+len(extra) > 0 {
		t.Fatalf("%d records lost, %d extra (first lost %v, first extra %v)", len(missing), len(extra), first(missing), first(extra))
	}
}

// blobNames lists the blobs under prefix/ in the container.
func blobNames(t *testing.T, cc *container.Client, prefix string) []string {
	t.Helper()
	var names []string
	p := prefix + "/"
	pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &p})
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, *b.Name)
		}
	}
	return names
}

const manifestArchiveSuffix = ".tar.zst"

// archiveRecords reads every record line of an archive's record files as
// "file\x00line" strings.
func archiveRecords(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	if err := archive.Walk(f, walkRecordLines(&out)); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return out
}

// walkRecordLines returns an archive.Walk function that appends each line of
// a bundle's record files (not requests.jsonl or the custody log) to out
// as "file\x00line".
func walkRecordLines(out *[]string) func(name string, r io.Reader) error {
	return func(name string, r io.Reader) error {
		if !strings.HasSuffix(name, ".jsonl") || name == "requests.jsonl" || name == "custody.log.jsonl" {
			return nil
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			*out = append(*out, name+"\x00"+sc.Text())
		}
		return sc.Err()
	}
}

// packKillSteps are the named steps of `evidence pack`.
var packKillSteps = []string{pipeline.StepArchiveWritten, pipeline.StepArchived, pipeline.StepArchiveCustody, "delivered:tar"}

// TestPackCrashPoints kills a real `evidence pack` at every named step,
// runs it again, and checks that the archive is byte for byte the one a
// run without a kill writes, that it verifies, and that no work file is
// left beside it. A pack killed once its archive and custody log were
// both written is finished: the second run refuses to overwrite it.
func TestPackCrashPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess kill test skipped with -short")
	}
	srv := newSim(t, graphtest.Config{Seed: 48, SignInsPerUser: 30, AuditsPerUser: 20})
	code, stdout, stderr := invoke(t, map[string]string{"EVIDENCE_GRAPH_TOKEN": testToken}, grabArgs(srv, t.TempDir(), "--user", "victim@contoso.com", "--bundle", "dir")...)
	if code != ExitOK {
		t.Fatalf("grab: exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	cleanTar := filepath.Join(t.TempDir(), "clean.tar.zst")
	if code, _, stderr := runIn(t, t.TempDir(), nil, "pack", dir, "-o", cleanTar); code != ExitOK {
		t.Fatalf("clean pack: exit %d\n%s", code, stderr)
	}
	want, err := os.ReadFile(cleanTar)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range packKillSteps {
		t.Run(strings.ReplaceAll(step, ":", "_"), func(t *testing.T) {
			out := t.TempDir()
			tar := filepath.Join(out, "b.tar.zst")
			if code, _, stderr := runIn(t, out, []string{pipeline.EnvKillAt + "=" + step}, "pack", dir, "-o", tar); code != -1 {
				t.Fatalf("the pack was not killed at %q: exit %d\n%s", step, code, stderr)
			}
			code, _, stderr := runIn(t, out, nil, "pack", dir, "-o", tar)
			finished := step == pipeline.StepArchiveCustody || step == "delivered:tar"
			switch {
			case code == ExitOK:
			case finished && code == ExitUsage && strings.Contains(stderr, "already exists"):
			default:
				t.Fatalf("pack after a kill at %q: exit %d\n%s", step, code, stderr)
			}
			got, err := os.ReadFile(tar)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("after a kill at %q the archive differs from a clean pack's", step)
			}
			if code, stdout, stderr := invokeCtx(context.Background(), "verify", tar); code != ExitOK {
				t.Fatalf("the archive does not verify: exit %d\n%s%s", code, stdout, stderr)
			}
			entries, _ := os.ReadDir(out)
			for _, e := range entries {
				if n := e.Name(); n != "b.tar.zst" && n != "b.custody.jsonl" {
					t.Errorf("left beside the archive: %s", n)
				}
			}
		})
	}
}
