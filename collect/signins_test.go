package collect_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// collectInteractive collects the victim's interactive sign-ins of the last
// 30 days from a tenant configured by cfg and returns the accounting and
// the records written.
func collectInteractive(t *testing.T, cfg graphtest.Config) (manifest.Source, []string, *graphtest.Tenant) {
	t.Helper()
	cfg.Token, cfg.Now, cfg.Seed = mtToken, mtNow, 7
	tenant, err := graphtest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src, lines := collectInteractiveVia(t, tenant, tenant, 4)
	return src, lines, tenant
}

// collectInteractiveVia is collectInteractive from tenant served through h
// (the tenant itself, or a handler in front of it), with attempts tries a
// request.
func collectInteractiveVia(t *testing.T, tenant *graphtest.Tenant, h http.Handler, attempts int) (manifest.Source, []string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	stage, err := bundle.Create(t.TempDir(), "b")
	if err != nil {
		t.Fatal(err)
	}
	job := collect.Job{Window: collect.Window{Start: mtNow.Add(-30 * 24 * time.Hour), End: mtNow},
		Users: []collect.User{victimUser(tenant.Victim())}, Now: mtNow}
	c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: collect.StaticToken(mtToken),
		Budgets: map[string]collect.Budget{collect.ClassReports: {}},
		Retry:   collect.RetryPolicy{MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxRetryAfter: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	src, err := collect.SignIns{Kind: collect.KindInteractive}.Collect(context.Background(), c, job, stage)
	if err != nil {
		t.Fatal(err)
	}
	if v := tenant.Violations(); len(v) > 0 {
		t.Fatalf("requests broke the documented contract: %v", v)
	}
	if err := stage.Seal(&manifest.Manifest{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(stage.Dir(), collect.KindInteractive.Path))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if src.Status != manifest.StatusCollected || src.Records == 0 || int64(len(lines)) != src.Records {
		t.Fatalf("status %q, %d records, %d lines", src.Status, src.Records, len(lines))
	}
	return src, lines
}

// TestInteractiveSignInsFromBeta: interactive sign-ins come from beta, with
// how each was authenticated (authenticationDetails) and the token
// identifiers v1.0 cannot hold; the manifest says beta answered.
func TestInteractiveSignInsFromBeta(t *testing.T) {
	src, lines, _ := collectInteractive(t, graphtest.Config{})
	if src.API == nil || src.API.Version != "beta" || len(src.API.FieldsNotHeld) != 0 || !strings.Contains(src.Endpoint, "/beta/") {
		t.Fatalf("api %+v, endpoint %s", src.API, src.Endpoint)
	}
	for i, l := range lines {
		g := gjson.Parse(l)
		if !g.Get("authenticationDetails").IsArray() || g.Get("sessionId").String() == "" || g.Get("uniqueTokenIdentifier").String() == "" {
			t.Fatalf("record %d lacks beta's authentication fields: %s", i, l)
		}
		if ev := g.Get("signInEventTypes").Array(); len(ev) != 1 || ev[0].String() != "interactiveUser" {
			t.Fatalf("record %d is not interactive: %s", i, g.Get("signInEventTypes").Raw)
		}
	}
	if !strings.Contains(lines[0], `"authenticationStepResultDetail"`) {
		t.Errorf("newest interactive sign-in has no authentication step: %s", lines[0])
	}
}

// TestInteractiveSignInsFallBackToV1: when beta is refused, interactive
// sign-ins are read from v1.0 and the manifest records the version, the
// reason and the fields those records cannot hold.
func TestInteractiveSignInsFallBackToV1(t *testing.T) {
	src, lines, tenant := collectInteractive(t, graphtest.Config{RefuseBetaSignIns: true})
	if src.API == nil || src.API.Version != "v1.0" || !strings.Contains(src.API.Reason, "refused") || !strings.Contains(src.Endpoint, "/v1.0/") {
		t.Fatalf("api %+v, endpoint %s", src.API, src.Endpoint)
	}
	if !strings.Contains(strings.Join(src.API.FieldsNotHeld, ","), "authenticationDetails") {
		t.Errorf("fields not held: %v", src.API.FieldsNotHeld)
	}
	for _, l := range lines {
		if gjson.Get(l, "authenticationDetails").Exists() {
			t.Fatalf("v1.0 record with beta fields: %s", l)
		}
	}
	v := tenant.Victim()
	if want := tenant.Count(graphtest.StreamSignIns, v.ID, mtNow.Add(-30*24*time.Hour), mtNow); int64(want) != src.Records {
		t.Errorf("%d records, ground truth %d", src.Records, want)
	}
}

// TestUserAppsAppOnly: with application permissions the owned-objects
// route is not asked (no application permission is documented) and is
// recorded so; the administrator's app is still found through the
// directory audit of her secret rotation, resolved through
// /applications/{id} and confirmed by /applications/{id}/owners; the
// victim's consented app through the consent grants.
func TestUserAppsAppOnly(t *testing.T) {
	tenant, err := graphtest.New(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 7, TokenKind: graphtest.TokenApp})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: collect.StaticToken(mtToken), AppOnly: true,
		Budgets: map[string]collect.Budget{collect.ClassReports: {}}})
	if err != nil {
		t.Fatal(err)
	}
	w := collect.Window{Start: mtNow.Add(-30 * 24 * time.Hour), End: mtNow}
	hr := tenant.Apps()[0]
	for _, tc := range []struct {
		user  graphtest.User
		appID string
		via   string
	}{
		{tenant.Admin(), hr.AppID, "audit: Update application"},
		{tenant.Victim(), tenant.Story().App.AppID, "consent"},
	} {
		look, err := c.UserApps(context.Background(), tc.user.ID, w)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range look.Apps {
			if a.AppID == tc.appID && strings.HasPrefix(a.Via, tc.via) {
				found = true
				if tc.via != "consent" && !strings.Contains(a.Via, "owner now") {
					t.Errorf("%s: ownership not confirmed: %+v", tc.user.UPN, a)
				}
			}
		}
		if !found {
			t.Errorf("%s: app %s via %q not found: %+v", tc.user.UPN, tc.appID, tc.via, look.Apps)
		}
		routes := map[string]string{}
		for _, r := range look.Routes {
			routes[r.Route] = r.Status
		}
		if routes[collect.RouteOwned] != manifest.StatusUnavailable || routes[collect.RouteConsent] != manifest.StatusCollected || routes[collect.RouteAudits] != manifest.StatusCollected {
			t.Errorf("%s: routes %+v", tc.user.UPN, look.Routes)
		}
	}
	if v := tenant.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

// TestWholeWindowFirstPageFailsThenSubWindows: the whole window is asked
// first for one page; when that request fails (not a licence or permission
// refusal) with nothing written, the window's sub-windows are asked one by
// one and every record is collected once.
func TestWholeWindowFirstPageFailsThenSubWindows(t *testing.T) {
	tenant, err := graphtest.New(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 7, SignInsPerUser: 3000})
	if err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int32
	src, lines := collectInteractiveVia(t, tenant, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/auditLogs/signIns") && r.URL.Query().Get("$top") == "1000" && failed.CompareAndSwap(0, 1) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"code":"BadRequest","message":"injected"}}`)
			return
		}
		tenant.ServeHTTP(w, r)
	}), 2)
	window := collect.Window{Start: mtNow.Add(-30 * 24 * time.Hour), End: mtNow}
	seen := map[string]bool{}
	for _, l := range lines {
		id := gjson.Get(l, "id").String()
		if seen[id] {
			t.Fatalf("record %s written twice", id)
		}
		seen[id] = true
	}
	want := tenant.IDs(graphtest.StreamSignIns, tenant.Victim().ID, window.Start, window.End)
	if failed.Load() != 1 || src.Status != manifest.StatusCollected || len(seen) != len(want) || src.Records != int64(len(want)) {
		t.Fatalf("failed %d, status %s, %d records written, %d accounted, ground truth %d", failed.Load(), src.Status, len(seen), src.Records, len(want))
	}
	if n := len(collect.DefaultSplitting.Windows(window)); len(src.Windows) != n {
		t.Errorf("%d sub-windows, want the %d of the window", len(src.Windows), n)
	}
}

// TestNextLinksFollowedAsGiven: an @odata.nextLink is the service's own
// URL, to be followed exactly as given (signin-list.md: "use the
// @odata.nextLink"); only its path is checked against the catalogue. Here
// every nextLink names its skip token %24skiptoken, which the service
// reads but the catalogue refuses in a query the tool builds (a handler in
// front of the simulator spells it so on the way out, and back on the way
// in): the sub-windows' pages follow the links all the same, and the
// records are those of the unchanged links.
func TestNextLinksFollowedAsGiven(t *testing.T) {
	tenant, err := graphtest.New(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 7, SignInsPerUser: 12000})
	if err != nil {
		t.Fatal(err)
	}
	_, want := collectInteractiveVia(t, tenant, tenant, 1)
	var rewritten, followed atomic.Int32
	_, got := collectInteractiveVia(t, tenant, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "%24skiptoken=") { // back to the simulator's own link
			followed.Add(1)
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "%24skiptoken=", "$skiptoken=", 1)
		}
		rec := httptest.NewRecorder()
		tenant.ServeHTTP(rec, r)
		body := rec.Body.String()
		if strings.Contains(body, `"@odata.nextLink"`) {
			body = strings.Replace(body, "$skiptoken=", "%24skiptoken=", 1)
			rewritten.Add(1)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		io.WriteString(w, body)
	}), 1)
	// not every link is followed: the whole window's first page is kept and
	// the rest asked in sub-windows
	if followed.Load() == 0 || followed.Load() > rewritten.Load() {
		t.Fatalf("%d nextLinks rewritten, %d followed", rewritten.Load(), followed.Load())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%d records through the rewritten links, %d through the service's own", len(got), len(want))
	}
}
