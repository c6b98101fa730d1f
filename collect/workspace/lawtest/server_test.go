package lawtest

import (
	"strings"
	"testing"
)

// TestParseKQLRejects: anything beyond the collector's form is refused
// loudly, so a change in the collector's KQL cannot pass unnoticed.
func TestParseKQLRejects(t *testing.T) {
	ok := "SigninLogs\n| where TimeGenerated >= datetime(2026-08-01T00:00:00Z) and TimeGenerated < datetime(2026-08-02T00:00:00Z)\n| where UserId in~ (\"a\", \"b\") or tostring(InitiatedBy.user.id) in~ (\"c\") or TargetResources has_any (\"d\")\n| order by TimeGenerated asc"
	q, err := parseKQL(ok)
	if err != nil || len(q.preds) != 3 || q.preds[1].path != "user.id" || len(q.preds[0].values) != 2 {
		t.Fatalf("%v %+v", err, q)
	}
	for _, bad := range []string{
		"SigninLogs | take 10",
		strings.Replace(ok, "order by TimeGenerated asc", "order by TimeGenerated desc", 1),
		strings.Replace(ok, ">=", ">", 1),
		strings.Replace(ok, "in~", "==", 1),
		strings.Replace(ok, " or ", " and ", 1),
		strings.Replace(ok, `"a", "b"`, `"a" "b"`, 1),
		strings.Replace(ok, "SigninLogs", "SigninLogs | union AuditLogs", 1),
	} {
		if _, err := parseKQL(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
