package signals

import (
	"strings"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/tidwall/gjson"
)

// RiskySPColumns are risky service principals.
var RiskySPColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("App id", "appId"), collect.Str("Name", "displayName"), collect.Str("Type", "servicePrincipalType"),
	collect.Str("Risk state", "riskState"), collect.Str("Risk level", "riskLevel"), collect.Str("Risk detail", "riskDetail"),
	collect.Time("Risk updated (UTC)", "riskLastUpdatedDateTime"), collect.Str("Enabled", "isEnabled"),
}

// DetectionColumns are service principal risk detections.
var DetectionColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Service principal", "servicePrincipalDisplayName"), collect.Str("Service principal id", "servicePrincipalId"),
	collect.Str("Risk event", "riskEventType"), collect.Str("Risk state", "riskState"), collect.Str("Risk level", "riskLevel"),
	collect.Str("IP address", "ipAddress"), collect.Str("Country", "location.countryOrRegion"),
	collect.Time("Activity (UTC)", "activityDateTime"), collect.Time("Detected (UTC)", "detectedDateTime"), collect.Raw("Key ids", "keyIds"),
}

// IncidentColumns are Defender XDR incidents with their alerts.
var IncidentColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Name", "displayName"), collect.Str("Status", "status"), collect.Str("Severity", "severity"),
	collect.Time("Created (UTC)", "createdDateTime"), collect.Time("Updated (UTC)", "lastUpdateDateTime"),
	collect.Str("Classification", "classification"), collect.Str("Determination", "determination"), collect.Str("Assigned to", "assignedTo"),
	collect.Func("Alerts", func(r gjson.Result) string {
		var t []string
		for _, a := range r.Get("alerts").Array() {
			t = append(t, a.Get("title").String())
		}
		return strings.Join(t, "; ")
	}),
	collect.Str("Portal", "incidentWebUrl"),
}

// AlertColumns are Defender XDR alerts (alerts_v2).
var AlertColumns = []collect.Column{
	collect.Str("Id", "id"), collect.Str("Title", "title"), collect.Str("Status", "status"), collect.Str("Severity", "severity"),
	collect.Str("Category", "category"), collect.Str("Service source", "serviceSource"), collect.Str("Detection source", "detectionSource"),
	collect.Time("Created (UTC)", "createdDateTime"), collect.Time("Updated (UTC)", "lastUpdateDateTime"),
	collect.Str("Incident", "incidentId"), collect.Str("Classification", "classification"), collect.Str("Determination", "determination"),
	collect.Func("Evidence", func(r gjson.Result) string {
		var t []string
		for _, e := range r.Get("evidence").Array() {
			t = append(t, strings.TrimPrefix(e.Get("@odata\\.type").String(), "#microsoft.graph.security."))
		}
		return strings.Join(t, "; ")
	}),
	collect.Str("Portal", "alertWebUrl"),
}
