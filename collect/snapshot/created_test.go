package snapshot_test

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
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// TestCreatedObjectsOfAnAdmin: Graph returns no createdObjects for users in
// an administrator role, so for such a user "collected, none" says why it
// does not mean "created nothing"; for the victim (no role) it says nothing.
func TestCreatedObjectsOfAnAdmin(t *testing.T) {
	now := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	tenant, err := graphtest.New(graphtest.Config{Token: "t", Now: now, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: collect.StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	stage, err := bundle.Create(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	defer stage.Abort()
	var users []collect.User
	for _, u := range []graphtest.User{tenant.Admin(), tenant.Victim()} {
		users = append(users, collect.User{Requested: u.UPN, ID: u.ID, UPN: u.UPN, Mail: u.Mail})
	}
	job := collect.Job{Window: collect.Window{Start: now.Add(-30 * 24 * time.Hour), End: now}, Users: users, Now: now}
	src, err := (&snapshot.Source{}).Collect(context.Background(), c, job, stage)
	if err != nil {
		t.Fatal(err)
	}
	notes := map[string]string{}
	for _, w := range src.Windows {
		if strings.HasPrefix(w.Query, "created-objects:") {
			notes[w.Scope] = w.Reason
		}
	}
	admin, victim := tenant.Admin().ID, tenant.Victim().ID
	if !strings.Contains(notes[admin], "administrator role") {
		t.Errorf("admin's created objects: %q", notes[admin])
	}
	if _, ok := notes[victim]; !ok || strings.Contains(notes[victim], "administrator role") {
		t.Errorf("victim's created objects: %q (present %v)", notes[victim], ok)
	}
	if v := tenant.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

// TestSnapshotFilterIgnored: when the service ignores the principalId and
// userId filters, the other users' consents, roles and risk detections are
// kept apart in the out-of-scope files, counted, and never judged as the
// victim's.
func TestSnapshotFilterIgnored(t *testing.T) {
	now := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	tenant, err := graphtest.New(graphtest.Config{Token: "t", Now: now, Seed: 3, IgnoreFilter: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: collect.StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	stage, err := bundle.Create(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	defer stage.Abort()
	v := tenant.Victim()
	job := collect.Job{Window: collect.Window{Start: now.Add(-30 * 24 * time.Hour), End: now}, Now: now,
		Users: []collect.User{{Requested: v.UPN, ID: v.ID, UPN: v.UPN, Mail: v.Mail}}}
	src, err := (&snapshot.Source{}).Collect(context.Background(), c, job, stage)
	if err != nil {
		t.Fatal(err)
	}
	var recs int64
	for _, w := range src.Windows {
		recs += w.Records
	}
	files := strings.Join(src.Files, " ")
	if src.OutOfScope == 0 || recs-src.OutOfScope != src.Records || !strings.Contains(files, "oauth2-permission-grants.out-of-scope.jsonl") ||
		!strings.Contains(src.Reason, "outside the asked user/window") {
		t.Fatalf("outOfScope %d, windows %d, records %d, reason %q, files %s", src.OutOfScope, recs, src.Records, src.Reason, files)
	}
	if err := stage.Seal(&manifest.Manifest{}); err != nil {
		t.Fatal(err)
	}
	grants, err := filepath.Glob(filepath.Join(stage.Dir(), "snapshot", "users", "*", "oauth2-permission-grants.jsonl"))
	if err != nil || len(grants) != 1 {
		t.Fatalf("grants file %v %v", grants, err)
	}
	b, _ := os.ReadFile(grants[0])
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" && gjson.Get(l, "principalId").String() != v.ID {
			t.Errorf("another user's grant among the victim's: %s", l)
		}
	}
}
