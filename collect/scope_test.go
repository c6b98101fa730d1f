package collect_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestScopeFilterIgnored: a service that ignores $filter answers other
// users' and out-of-window records. Each source keeps only the subject's
// records in the asked window in its file, the rest byte-exact in the
// out-of-scope file beside it, counted in outOfScope, and the accounting
// still adds up.
func TestScopeFilterIgnored(t *testing.T) {
	tenant, err := graphtest.New(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 11, IgnoreFilter: true,
		SignInsPerUser: 20, AuditsPerUser: 10, NonInteractivePerUser: 20, AppSignIns: 10, MailPerUser: 30})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: collect.StaticToken(mtToken),
		Budgets: map[string]collect.Budget{collect.ClassReports: {}, collect.ClassMessageTrace: {}},
		Retry:   collect.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	v := tenant.Victim()
	w := collect.Window{Start: mtNow.Add(-5 * 24 * time.Hour), End: mtNow.Add(-1 * 24 * time.Hour)}
	job := collect.Job{Window: w, Users: []collect.User{victimUser(v)}, Now: mtNow}
	stage, err := bundle.Create(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	type check struct {
		src      collect.Source
		path     string
		timeProp string
		mine     func(g gjson.Result) bool
	}
	addrs := collect.MailAddresses(victimUser(v))
	isVictimAddr := func(s string) bool {
		for _, a := range addrs {
			if strings.EqualFold(a, s) {
				return true
			}
		}
		return false
	}
	checks := []check{
		{collect.SignIns{Kind: collect.KindInteractive}, collect.KindInteractive.Path, "createdDateTime",
			func(g gjson.Result) bool { return g.Get("userId").String() == v.ID }},
		{collect.SignIns{Kind: collect.KindNonInteractive}, collect.KindNonInteractive.Path, "createdDateTime",
			func(g gjson.Result) bool {
				return g.Get("userId").String() == v.ID && g.Get("signInEventTypes.0").String() == "nonInteractiveUser"
			}},
		{collect.DirectoryAudits{}, collect.AuditsPath, "activityDateTime",
			func(g gjson.Result) bool {
				return g.Get("initiatedBy.user.id").String() == v.ID || strings.Contains(g.Get("targetResources.#.id").Raw, v.ID)
			}},
		{collect.MessageTrace{}, collect.MessageTracePath, "receivedDateTime",
			func(g gjson.Result) bool {
				return isVictimAddr(g.Get("senderAddress").String()) || isVictimAddr(g.Get("recipientAddress").String())
			}},
	}
	var srcs []manifest.Source
	for _, ck := range checks {
		src, err := ck.src.Collect(context.Background(), c, job, stage)
		if err != nil {
			t.Fatalf("%s: %v", ck.src.Name(), err)
		}
		srcs = append(srcs, src)
	}
	if err := stage.Seal(&manifest.Manifest{}); err != nil {
		t.Fatal(err)
	}
	for i, ck := range checks {
		src := srcs[i]
		mine := readLines(t, filepath.Join(stage.Dir(), ck.path))
		apart := readLines(t, filepath.Join(stage.Dir(), collect.OutOfScopePath(ck.path)))
		if src.OutOfScope == 0 || int64(len(apart)) != src.OutOfScope || int64(len(mine)) != src.Records {
			t.Errorf("%s: %d records (%d lines), %d out of scope (%d lines)", src.Name, src.Records, len(mine), src.OutOfScope, len(apart))
		}
		for _, l := range mine {
			g := gjson.Parse(l)
			tm, _ := time.Parse(time.RFC3339Nano, g.Get(ck.timeProp).String())
			if !ck.mine(g) || tm.Before(w.Start) || !tm.Before(w.End) {
				t.Errorf("%s: a record outside the asked user/window in the subject's file: %.200s", src.Name, l)
				break
			}
		}
		var recs int64
		for _, sw := range src.Windows {
			recs += sw.Records
		}
		if recs-src.Duplicates-src.OutOfScope != src.Records {
			t.Errorf("%s: windows %d - duplicates %d - out of scope %d != records %d", src.Name, recs, src.Duplicates, src.OutOfScope, src.Records)
		}
		if !strings.Contains(src.Reason, "outside the asked user/window") || !strings.Contains(strings.Join(src.Files, " "), manifest.OutOfScopeSuffix) {
			t.Errorf("%s: reason %q, files %v", src.Name, src.Reason, src.Files)
		}
	}
}

// TestScopedSinkBatchAsWrite: ScopedSink.WriteBatch sends each record
// where Write sends it (the subject's file or the out-of-scope file beside
// it), with the same bytes in both files and the same count kept apart.
func TestScopedSinkBatchAsWrite(t *testing.T) {
	w := collect.Window{Start: mtNow.Add(-time.Hour), End: mtNow}
	var recs [][]byte
	for i := range 200 {
		user := "victim"
		if i%7 == 3 {
			user = "someone-else"
		}
		at := mtNow.Add(-time.Duration(i) * 30 * time.Second) // the oldest are outside the window
		recs = append(recs, []byte(fmt.Sprintf(`{"id":"%d","createdDateTime":%q,"userId":"%s","appDisplayName":"=x"}`, i, collect.FormatTime(at), user)))
	}
	run := func(batch bool) (files map[string]string, apart int64) {
		stage, err := bundle.Create(t.TempDir(), "b")
		if err != nil {
			t.Fatal(err)
		}
		const path = "signins/interactive.jsonl"
		inner, err := stage.Open(path, "s", collect.UserSignInColumns)
		if err != nil {
			t.Fatal(err)
		}
		sink := collect.NewScopedSink(stage, path, "s", collect.UserSignInColumns, inner)
		sink.SetScope(&collect.Scope{Window: w, TimeProp: "createdDateTime",
			Require: []collect.Cond{{What: "user", Paths: []string{"userId"}, Values: []string{"victim"}}}})
		if batch {
			err = sink.WriteBatch(recs)
		} else {
			for _, r := range recs {
				if err = sink.Write(r); err != nil {
					break
				}
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		var src manifest.Source
		src.Records = int64(len(recs))
		sink.Account(&src)
		if err := stage.Seal(&manifest.Manifest{}); err != nil {
			t.Fatal(err)
		}
		files = map[string]string{}
		for _, p := range []string{path, collect.CSVPath(path), collect.OutOfScopePath(path), collect.CSVPath(collect.OutOfScopePath(path))} {
			b, err := os.ReadFile(filepath.Join(stage.Dir(), p))
			if err != nil {
				t.Fatal(err)
			}
			files[p] = string(b)
		}
		return files, src.OutOfScope
	}
	one, n1 := run(false)
	all, n2 := run(true)
	if n1 == 0 || n1 == int64(len(recs)) || n1 != n2 {
		t.Fatalf("kept apart: %d by Write, %d by WriteBatch", n1, n2)
	}
	for p, b := range one {
		if all[p] != b {
			t.Errorf("%s differs between Write and WriteBatch", p)
		}
	}
}
