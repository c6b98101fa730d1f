package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// TestExportBlobState: `evidence export --state http://127.0.0.1:PORT/
// devstoreaccount1/CONTAINER/PREFIX` against the simulated tenant and
// Azurite, with the SAS from the environment: two daily runs extend one
// hash-chained state kept only in blob storage; a run started while the
// second holds the lease is refused, exit 2, and changes nothing; status
// reads the blob state (with a connection string this time); no SAS,
// signature or key appears in any output, bundle or state.
func TestExportBlobState(t *testing.T) {
	az := azuritetest.Start(t)
	cont := az.CreateContainer(t, "evidence-state")
	sas := az.ContainerSAS(t, "evidence-state", "racw")
	stateURL := az.ContainerURL("evidence-state") + "/tenants/contoso.com"
	t.Setenv(blob.EnvSAS, sas)
	t.Setenv(blob.EnvConnectionString, "")
	t.Setenv("EVIDENCE_GRAPH_TOKEN", testToken)

	day0 := time.Date(2026, 11, 10, 6, 0, 0, 0, time.UTC)
	sim := newSim(t, graphtest.Config{Seed: 33, AuditsPerUser: 300, SignInsPerUser: 300, Now: day0,
		Faults: graphtest.Faults{Latency: 20 * time.Millisecond}})
	out := t.TempDir()
	var outputs []string

	// Day 1: the first run creates the state in the container.
	code, stdout, stderr := invokeCtx(context.Background(), exportArgs(sim, stateURL, out, day0, "--since", "2d")...)
	outputs = append(outputs, stdout, stderr)
	if code != ExitOK {
		t.Fatalf("day 1: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "export: bundle 1 of state "+stateURL) {
		t.Fatalf("day 1 stderr lacks the state URL:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "state.json")); !os.IsNotExist(err) {
		t.Fatal("a blob state was written to the local disk")
	}

	// Day 2, with a run started while it holds the lease.
	day1 := day0.Add(24 * time.Hour)
	sim.Tenant.SetNow(day1)
	st1 := readBlobState(t, az, stateURL)
	etag1 := stateETag(t, az, "tenants/contoso.com/state.json")
	done := make(chan [3]string)
	go func() {
		code, stdout, stderr := invokeCtx(context.Background(), exportArgs(sim, stateURL, out, day1)...)
		done <- [3]string{string(rune('0' + code)), stdout, stderr}
	}()
	lockBlob := cont.NewBlobClient("tenants/contoso.com/lock")
	for i := 0; ; i++ { // wait until the day-2 run holds the lease
		p, err := lockBlob.GetProperties(context.Background(), nil)
		if err == nil && p.LeaseState != nil && *p.LeaseState == lease.StateTypeLeased {
			break
		}
		if i > 2000 {
			t.Fatal("the day-2 export never took the lease")
		}
		time.Sleep(5 * time.Millisecond)
	}
	out2 := t.TempDir()
	code, stdout, stderr = invokeCtx(context.Background(), exportArgs(sim, stateURL, out2, day1)...)
	outputs = append(outputs, stdout, stderr)
	if code != ExitFailed || stdout != "" ||
		!strings.Contains(stderr, "another export holds the lease on "+stateURL+"/lock (pid ") ||
		!strings.Contains(stderr, " until 20") || !strings.Contains(stderr, "this run changed nothing") {
		t.Fatalf("concurrent export: exit %d\nstdout %q\nstderr %s", code, stdout, stderr)
	}
	if entries, _ := os.ReadDir(out2); len(entries) != 0 {
		t.Fatalf("the refused run wrote %d entries to its --out", len(entries))
	}
	if got := stateETag(t, az, "tenants/contoso.com/state.json"); got != etag1 {
		t.Fatal("the refused run changed the state blob")
	}
	first := <-done
	outputs = append(outputs, first[1], first[2])
	if first[0] != "0" {
		t.Fatalf("day 2: exit %s\n%s", first[0], first[2])
	}

	st2 := readBlobState(t, az, stateURL)
	if len(st1.Index) != 1 || len(st2.Index) != 2 || st2.Index[0] != st1.Index[0] {
		t.Fatalf("index: %d then %d entries", len(st1.Index), len(st2.Index))
	}
	if p := st2.VerifyChain(); len(p) != 0 {
		t.Fatalf("chain: %v", p)
	}
	if st2.Index[1].Interval.End <= st1.Index[0].Interval.End {
		t.Errorf("day 2 ends at %s, day 1 at %s: the watermark did not advance", st2.Index[1].Interval.End, st1.Index[0].Interval.End)
	}
	for _, e := range st2.Index {
		m, _ := bundleRecords(t, e.Location)
		if m.Export == nil || m.Export.State != stateURL || m.Export.Sequence != e.Seq || m.Export.Previous != e.Prev {
			t.Fatalf("bundle %d: manifest export %+v does not match the blob state's entry", e.Seq, m.Export)
		}
	}
	if got := stateETag(t, az, "tenants/contoso.com/state.json"); got == etag1 {
		t.Fatal("day 2 did not replace the state blob")
	}
	p, err := lockBlob.GetProperties(context.Background(), nil)
	if err != nil || p.LeaseState == nil || *p.LeaseState != lease.StateTypeAvailable {
		t.Fatalf("the lease was not released after the run: %v %v", p.LeaseState, err)
	}

	// status reads the blob state; here with a connection string.
	t.Setenv(blob.EnvSAS, "")
	t.Setenv(blob.EnvConnectionString, az.ConnectionString())
	code, stdout, stderr = invoke(t, nil, "export", "status", "--state", stateURL, "--now", day1.Add(time.Hour).Format(time.RFC3339))
	outputs = append(outputs, stdout, stderr)
	if code != ExitOK || !strings.Contains(stdout, "State "+stateURL) || !strings.Contains(stdout, "Index: 2 bundles (0 incomplete), chain intact") {
		t.Fatalf("status: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// Without a credential the state is refused clearly, exit 1.
	t.Setenv(blob.EnvConnectionString, "")
	code, _, stderr = invoke(t, nil, "export", "status", "--state", stateURL)
	outputs = append(outputs, stderr)
	if code != ExitUsage || !strings.Contains(stderr, "no credential for blob storage") {
		t.Fatalf("status without a credential: exit %d\n%s", code, stderr)
	}

	// No secret anywhere: outputs, the bundles' files, the state document.
	secrets := []string{sas, azuritetest.AccountKey, "sig="}
	for _, v := range strings.Split(sas, "&") {
		if strings.HasPrefix(v, "sig=") {
			secrets = append(secrets, strings.TrimPrefix(v, "sig="))
		}
	}
	texts := append([]string(nil), outputs...)
	for _, e := range st2.Index {
		dir := t.TempDir()
		f, err := os.Open(e.Location)
		if err != nil {
			t.Fatal(err)
		}
		if err := archive.Extract(f, dir); err != nil {
			t.Fatal(err)
		}
		f.Close()
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				texts = append(texts, string(b))
			}
			return nil
		})
	}
	b, err := testBlobState(t, az, stateURL).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, string(b))
	for _, s := range secrets {
		for i, text := range texts {
			if strings.Contains(text, s) {
				t.Fatalf("text %d carries a secret (%.8s...)", i, s)
			}
		}
	}
}

// testBlobState opens the blob state with the account key (the test's own
// access, not the CLI's).
func testBlobState(t *testing.T, az *azuritetest.Server, stateURL string) state.Store {
	t.Helper()
	st, err := state.Open(stateURL, func(tg blob.Target) (*blob.Store, error) {
		return blob.NewStore(tg, blob.Credentials{ConnectionString: az.ConnectionString()})
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func readBlobState(t *testing.T, az *azuritetest.Server, stateURL string) *state.State {
	t.Helper()
	s, err := state.Load(context.Background(), testBlobState(t, az, stateURL))
	if err != nil || s == nil {
		t.Fatalf("blob state: %v %v", s, err)
	}
	return s
}

func stateETag(t *testing.T, az *azuritetest.Server, name string) string {
	t.Helper()
	c, err := blob.NewStore(blob.Target{Service: az.Endpoint, Container: "evidence-state"}, blob.Credentials{ConnectionString: az.ConnectionString()})
	if err != nil {
		t.Fatal(err)
	}
	_, tag, err := c.ReadBlob(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
