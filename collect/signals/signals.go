// Package signals records what Microsoft's own detections already raised:
// Identity Protection's risky service principals and their risk detections
// (beside the user risk the snapshot reads), and Defender XDR incidents
// with their alerts. Incidents whose alerts name a subject of the
// collection are its records; the others are kept apart, byte-exact, in
// the out-of-scope file beside them (all of them are the subject's when the
// collection is tenant-wide). Findings go to signals/findings.json.
//
// Like the tenant source it only reads, one file and one manifest window
// per part (collect/tenant.Parts), every request a catalogue entry.
package signals

import (
	"context"
	"fmt"
	"strings"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/catalog"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/collect/tenant"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// Name is the source's name in --sources and the manifest.
const Name = "signals"

// Dir is the bundle folder of the source.
const (
	Dir          = "signals"
	FindingsPath = Dir + "/findings.json"
	FindingsCSV  = Dir + "/findings.csv"
)

// Finding kinds of the signals source.
const (
	KindOpenIncident    = "defender-incident-open"
	KindUnresolvedAlert = "defender-alert-unresolved"
	KindRiskySP         = "service-principal-at-risk"
)

// alertPaths are where an alert names a user: user and mailbox evidence,
// and the recipient of an analysed message.
var alertPaths = []string{
	"evidence.#.userAccount.azureAdUserId",
	"evidence.#.userAccount.userPrincipalName",
	"evidence.#.primaryAddress",
	"evidence.#.recipientEmailAddress",
}

// incidentPaths are alertPaths inside an incident's expanded alerts.
var incidentPaths = func() []string {
	var out []string
	for _, p := range alertPaths {
		out = append(out, "alerts.#."+p+"|@flatten")
	}
	return out
}()

// Source is the signals source.
type Source struct {
	// HuntingRowLimit is the row count at which an advanced hunting answer
	// is taken as possibly cut (0: HuntingRowLimit, the documented cap).
	HuntingRowLimit int

	prior []manifest.Source // the sources collected before this one in the run (SetPrior)
	warns []string
}

// SetPrior hands the source the sources collected before it in the same
// run: the devices and IP addresses of the subject's sign-ins among them
// also make an incident or alert the subject's.
func (s *Source) SetPrior(p []manifest.Source) { s.prior = p }

// Warnings are the notes of the last Collect for the manifest: incidents
// and alerts that are the subject's by a device or an IP address only.
func (s *Source) Warnings() []string { return s.warns }

// Name implements collect.Source.
func (*Source) Name() string { return Name }

// Collect implements collect.Source.
func (s *Source) Collect(ctx context.Context, c *collect.Client, job collect.Job, out collect.Output) (manifest.Source, error) {
	f := &findings{byKey: map[string]bool{}}
	notChecked := func(check, reason string) {
		f.not = append(f.not, snapshot.NotChecked{Check: "signals " + check, Scope: "tenant", Reason: reason})
	}
	r := tenant.NewParts(c, job, out, Name, Dir, "detections held at collection time; windows[] are the read intervals, one per part, "+
		"except the hunting-* parts, whose windows are the data windows asked (one per answer kept)", notChecked)
	base := r.Base()
	var incidentAbout, alertAbout func(rec gjson.Result) string
	s.warns = nil
	if !job.AllUsers {
		ind, err := signInIndicators(s.prior, out)
		if err != nil {
			return r.Finish(), &collect.FatalError{Err: err}
		}
		if ind != nil && ind.capped {
			s.warns = append(s.warns, fmt.Sprintf("signals: the subject's sign-ins name more than %d devices or IP addresses; incidents and alerts were matched by the first %d of each", maxIndicators, maxIndicators))
		}
		var vals []string
		for _, u := range job.Users {
			vals = append(vals, u.ID, u.UPN, u.Mail)
		}
		byIndicator := map[string][]string{}
		about := func(paths, devs, ips []string, what, kind string) func(rec gjson.Result) string {
			cond := collect.Cond{What: "subject", Paths: paths, Values: nonEmpty(vals)}
			return func(rec gjson.Result) string {
				if holdsAny(cond, rec) {
					return ""
				}
				if ind.holds(rec, devs, ips) {
					byIndicator[kind] = append(byIndicator[kind], rec.Get("id").String())
					return ""
				}
				return what + " names a subject (" + strings.Join(nonEmpty(userIDs(job.Users)), ", ") + ")" + ind.describe()
			}
		}
		incidentAbout = about(incidentPaths, inIncident(devicePaths), inIncident(ipPaths), "no alert of the incident", "incidents")
		alertAbout = about(alertPaths, devicePaths, ipPaths, "no evidence of the alert", "alerts")
		defer func() {
			for _, k := range []string{"incidents", "alerts"} {
				if ids := byIndicator[k]; len(ids) > 0 {
					s.warns = append(s.warns, fmt.Sprintf("signals: %d %s are the subject's by a device or IP address of the subject's sign-ins, not by a user (%s)", len(ids), k, strings.Join(ids, ", ")))
				}
			}
		}()
	}
	alertsURL := base + "/security/alerts_v2?$filter=" + collect.QueryEscape("lastUpdateDateTime ge "+collect.ODataTime(job.Window.Start))
	parts := []tenant.Part{
		{Name: "risky-service-principals", Endpoint: "signals.riskyServicePrincipals", URL: base + "/identityProtection/riskyServicePrincipals",
			Cols: RiskySPColumns, OnRecord: f.riskySP},
		{Name: "service-principal-risk-detections", Endpoint: "signals.servicePrincipalRiskDetections",
			URL: base + "/identityProtection/servicePrincipalRiskDetections", Cols: DetectionColumns},
		{Name: "security-incidents", Endpoint: "signals.incidents", URL: base + "/security/incidents?$expand=alerts",
			Class: catalog.ClassSecurity, Cols: IncidentColumns, Others: "security-incidents-other-users", Outside: incidentAbout, OnRecord: f.incident},
		{Name: "security-alerts", Endpoint: "signals.alerts", URL: alertsURL,
			Class: catalog.ClassSecurity, Cols: AlertColumns, Others: "security-alerts-other-users", Outside: alertAbout, OnRecord: f.alert},
	}
	for _, p := range parts {
		if err := r.Fetch(ctx, p); err != nil {
			return r.Finish(), err
		}
	}
	if err := s.hunt(ctx, c, job, out, r.Source(), notChecked); err != nil {
		return r.Finish(), err
	}
	f.not = append(f.not, notCollectable(job)...)
	rep := &snapshot.Report{Format: snapshot.FindingsFormat, Window: manifest.NewWindow(job.Window.Start, job.Window.End), NotChecked: f.not,
		Note:     "Detections Microsoft already raised, each pointing at the record it comes from. evidence only reads: nothing was changed in the tenant.",
		Findings: f.list}
	if rep.Findings == nil {
		rep.Findings = []snapshot.Finding{}
	}
	rep.Sort()
	if err := snapshot.WriteReport(out, FindingsPath, FindingsCSV, Name, rep); err != nil {
		return r.Finish(), &collect.FatalError{Err: err}
	}
	return r.Finish(FindingsPath, FindingsCSV), nil
}

// holdsAny reports whether one of cond's paths holds one of its values.
func holdsAny(cond collect.Cond, rec gjson.Result) bool {
	for _, p := range cond.Paths {
		for _, v := range rec.Get(p).Array() {
			for _, want := range cond.Values {
				if strings.EqualFold(v.String(), want) {
					return true
				}
			}
		}
	}
	return false
}

func userIDs(us []collect.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.UPN)
	}
	return out
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

type findings struct {
	list  []snapshot.Finding
	byKey map[string]bool
	not   []snapshot.NotChecked
}

func (f *findings) add(n snapshot.Finding, p snapshot.Pointer) {
	if f.byKey[n.Kind+n.ObjectID] {
		return
	}
	f.byKey[n.Kind+n.ObjectID] = true
	n.Evidence = []snapshot.Pointer{p}
	f.list = append(f.list, n)
}

// incident flags an incident still open (active, in progress, awaiting
// action) among the subject's.
func (f *findings) incident(p snapshot.Pointer, rec gjson.Result) {
	switch st := rec.Get("status").String(); st {
	case "active", "inProgress", "awaitingAction":
		var titles []string
		for _, a := range rec.Get("alerts").Array() {
			titles = append(titles, a.Get("title").String())
		}
		f.add(snapshot.Finding{Kind: KindOpenIncident, Severity: "high", Object: rec.Get("displayName").String(), ObjectID: rec.Get("id").String(),
			Time: rec.Get("createdDateTime").String(),
			Summary: fmt.Sprintf("Defender XDR incident %s %q is %s (severity %s, alerts: %s)", rec.Get("id").String(),
				rec.Get("displayName").String(), st, rec.Get("severity").String(), strings.Join(titles, "; ")),
			NextStep: "open " + rec.Get("incidentWebUrl").String() + " and coordinate with the security operations team before remediating, so their investigation keeps its evidence"}, p)
	}
}

// alert flags an alert naming the subject that is not resolved (new or in
// progress), with the alert's own severity.
func (f *findings) alert(p snapshot.Pointer, rec gjson.Result) {
	switch st := rec.Get("status").String(); st {
	case "new", "inProgress":
		f.add(snapshot.Finding{Kind: KindUnresolvedAlert, Severity: rec.Get("severity").String(), Object: rec.Get("title").String(),
			ObjectID: rec.Get("id").String(), Time: rec.Get("createdDateTime").String(),
			Summary: fmt.Sprintf("Defender XDR alert %q is %s (severity %s, %s, detected by %s, incident %s)", rec.Get("title").String(), st,
				rec.Get("severity").String(), rec.Get("category").String(), rec.Get("detectionSource").String(), rec.Get("incidentId").String()),
			NextStep: "open " + rec.Get("alertWebUrl").String() + " (or the incident, " + rec.Get("incidentWebUrl").String() +
				"), read its evidence and timeline, and agree with the security operations team who resolves it before remediating"}, p)
	}
}

// riskySP flags a service principal Identity Protection holds at risk or
// confirmed compromised.
func (f *findings) riskySP(p snapshot.Pointer, rec gjson.Result) {
	switch st := rec.Get("riskState").String(); st {
	case "atRisk", "confirmedCompromised":
		f.add(snapshot.Finding{Kind: KindRiskySP, Severity: "high", Object: rec.Get("displayName").String(), ObjectID: rec.Get("id").String(),
			Time: rec.Get("riskLastUpdatedDateTime").String(),
			Summary: fmt.Sprintf("Identity Protection holds service principal %q (app id %s) %s, risk level %s", rec.Get("displayName").String(),
				rec.Get("appId").String(), st, rec.Get("riskLevel").String()),
			NextStep: "read its risk detections (" + Dir + "/service-principal-risk-detections.jsonl) and service principal sign-ins; remove its credentials if the risk is confirmed"}, p)
	}
}
