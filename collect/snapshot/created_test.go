package snapshot_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/snapshot"
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
