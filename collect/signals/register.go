package signals

import "github.com/evidence-dfir/evidence/collect"

func init() {
	collect.Register(collect.Descriptor{
		Name:    Name,
		Summary: "Identity Protection's risky service principals and their detections, Defender XDR incidents with alerts, alerts updated in the window, per-user advanced hunting, with findings",
		Order:   70,
		Default: collect.On,
		Files: []collect.File{
			{Pattern: Dir + "/risky-service-principals.jsonl", Columns: RiskySPColumns},
			{Pattern: Dir + "/service-principal-risk-detections.jsonl", Columns: DetectionColumns},
			{Pattern: Dir + "/security-incidents*.jsonl", Columns: IncidentColumns},
			{Pattern: Dir + "/security-alerts*.jsonl", Columns: AlertColumns},
			{Pattern: Dir + "/hunting-*.jsonl"},
		},
		Endpoints: []string{"signals.riskyServicePrincipals", "signals.servicePrincipalRiskDetections", "signals.incidents", "signals.alerts", "signals.huntingQuery"},
		Split:     "the requested window, one query per part",
		Resume:    "collected again",
		New:       func(collect.Config) []collect.Source { return []collect.Source{&Source{}} },
	})
}
