package collect_test

import (
	"context"
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
