package collect

import "time"

// How long Microsoft keeps each source's records, per Entra ID licence
// tier (License*): the one retention table of the project (docs/sources.md
// gives the documentation behind each row). grab clamps its windows with
// it, export plans its windows and status reports ages with it.
var retention = map[string]map[string]time.Duration{
	// Entra sign-in and audit logs: 7 days on Entra ID Free, 30 days with
	// P1 or P2 (no tier keeps more: the 30 days also stand for unknown).
	"signins": {LicenseFree: 7 * 24 * time.Hour, LicensePremium: 30 * 24 * time.Hour, LicenseUnknown: 30 * 24 * time.Hour},
	"audits":  {LicenseFree: 7 * 24 * time.Hour, LicensePremium: 30 * 24 * time.Hour, LicenseUnknown: 30 * 24 * time.Hour},
	// The unified audit log: 180 days (Audit Standard), whatever the
	// Entra ID tier.
	"ual": {"": 180 * 24 * time.Hour},
	// Message trace: the last 90 days can be queried.
	"messagetrace": {"": MessageTraceMaxAge},
	// Defender XDR advanced hunting: the last 30 days.
	"hunting": {"": 30 * 24 * time.Hour},
}

// Retention is how long the service keeps records of source (signins,
// audits, ual, messagetrace) on a tenant of the given licence tier; 0 for a
// source the table does not know.
func Retention(source, tier string) time.Duration {
	t := retention[source]
	if d, ok := t[tier]; ok {
		return d
	}
	if d, ok := t[LicenseUnknown]; ok {
		return d
	}
	return t[""]
}
