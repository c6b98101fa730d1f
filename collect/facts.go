package collect

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// License tiers as the probe finds them (manifest tenant.license).
const (
	LicenseFree    = "free"    // sign-in logs refused with CodeNoPremium: Entra ID Free (or B2C)
	LicensePremium = "premium" // sign-in logs readable: Entra ID P1 or P2
	LicenseUnknown = "unknown" // the probe could not tell (permission, errors)
)

// ReasonNoPremium is the manifest reason of sign-in sources on a tenant
// without Entra ID P1/P2.
const ReasonNoPremium = "licence: tenant has no Entra ID P1/P2: sign-in logs cannot be read through Graph (" + CodeNoPremium + ")"

// HintNoPremium tells a responder what to do instead (printed once).
const HintNoPremium = "tenant has no Entra ID P1/P2: sign-in logs cannot be read through Graph. " +
	"Instead, download every tab of Entra admin center > Sign-in logs (Download, CSV or JSON) before the 7-day retention " +
	"ends and seal the files with `evidence import`, or collect the unified audit log's Entra sign-in events"

// TenantFacts is what the collection knows about the tenant before the
// sources run: its licence tier, how far back its Entra logs reach, and the
// service's clock. grab fills it with Probe once and hands it to every
// source through Job.Facts.
type TenantFacts struct {
	License   string        // LicenseFree, LicensePremium or LicenseUnknown
	Reason    string        // how the licence was decided
	Retention time.Duration // how far back sign-ins and audits reach
	Now       time.Time     // the service's clock (the probe's Date header), or the local clock
	// SignInsRefused is the reason the sign-in logs are unavailable, when
	// the probe was refused for licence or permission ("" otherwise).
	SignInsRefused string
	SignInsStatus  string // the manifest status for SignInsRefused (unavailable)
}

// RetentionStart is the oldest instant the tenant still keeps.
func (f *TenantFacts) RetentionStart() time.Time { return f.Now.Add(-f.Retention) }

// Clamp splits w into the part the tenant still keeps and the part lost to
// retention, with the reason for the manifest.
func (f *TenantFacts) Clamp(w Window) (kept, lost Window, reason string) {
	if f == nil || f.Retention <= 0 {
		return w, Window{}, ""
	}
	kept, lost = w.Clamp(f.RetentionStart())
	if lost.Empty() {
		return kept, Window{}, ""
	}
	switch f.License {
	case LicenseFree:
		reason = "older than the tenant's 7-day retention (Entra ID Free)"
	case LicensePremium:
		reason = "older than the tenant's 30-day retention (Entra ID P1/P2)"
	default:
		reason = "older than the 30-day maximum retention of Entra ID logs"
	}
	return kept, lost, reason
}

// Probe asks /v1.0/auditLogs/signIns for one record: Graph answers a tenant
// without Entra ID P1/P2 with 403 CodeNoPremium, which is the documented,
// practical test of the licence. It costs one request of the reports
// budget. Only fatal errors (credentials, cancellation) are returned.
//
// Retention is measured from the collection start (localNow). When the
// answer's Date header (the service's clock, whole seconds) differs from the
// local clock by more than clockTolerance, the service's clock is used
// instead, so a local clock that is off cannot make the tool claim records
// the tenant no longer keeps.
func Probe(ctx context.Context, c *Client, localNow time.Time) (*TenantFacts, error) {
	f := &TenantFacts{License: LicenseUnknown, Retention: Retention("signins", LicenseUnknown), Now: localNow.UTC()}
	resp, err := c.Do(ctx, Request{Class: ClassReports, Source: "licence-probe", URL: c.BaseURL("v1.0") + "/auditLogs/signIns?$top=1"},
		func(body []byte) (int, error) {
			p, err := ParsePage(body)
			if err != nil {
				return 0, err
			}
			return len(p.Records), nil
		})
	var ge *GraphError
	switch {
	case err == nil:
		f.License, f.Reason = LicensePremium, "sign-in logs readable, so Entra ID P1 or P2 (30-day retention)"
		f.useServiceClock(resp.Header.Get("Date"))
	case errors.As(err, &ge) && ge.Status == http.StatusForbidden && ge.Code == CodeNoPremium:
		f.License, f.Retention = LicenseFree, Retention("signins", LicenseFree)
		f.Reason = "sign-in logs refused with 403 " + CodeNoPremium + ", so Entra ID Free (7-day retention)"
		f.SignInsRefused, f.SignInsStatus = ReasonNoPremium, "unavailable"
	default:
		status, reason, fatal := Classify(err)
		if fatal {
			return nil, err
		}
		f.Reason = "licence probe failed (" + reason + "); assuming the 30-day maximum retention"
		if status == "unavailable" {
			f.SignInsRefused, f.SignInsStatus = reason, status
		}
	}
	if ge != nil {
		f.useServiceClock(ge.Date)
	}
	return f, nil
}

// clockTolerance is how far the local clock may be from the service's
// (whose Date header has whole seconds) before the service's is used.
const clockTolerance = 2 * time.Second

func (f *TenantFacts) useServiceClock(date string) {
	d, err := http.ParseTime(date)
	if err != nil {
		return
	}
	if skew := d.Sub(time.Now()); skew > clockTolerance || skew < -clockTolerance {
		f.Now = d.UTC()
		f.Reason += "; the local clock is " + (-skew).Round(time.Second).String() + " off the service's, so retention is measured on the service's clock"
	}
}
