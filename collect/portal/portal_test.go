package portal

import (
	"strings"
	"testing"
	"time"
)

func TestReadKindsRangesAndZones(t *testing.T) {
	cases := []struct {
		name, body, kind string
		records          int64
		first, last      string
		warn             string
	}{
		{"ApplicationSignIns_2026-11-20.csv", "\ufeffDate (UTC),Request ID,Service principal ID,Service principal name\r\n2026-11-19T00:00:00Z,a,s,Mail Sync Pro\r\n2026-11-18T10:00:00+02:00,b,s,x\r\n",
			KindServicePrincipal, 2, "2026-11-18T08:00:00Z", "2026-11-19T00:00:00Z", "non-UTC offset"},
		{"x.csv", "Date (UTC),Request ID,Service principal ID,Managed Identity type\n2026-11-18T00:00:00Z,a,s,systemAssigned\n",
			KindManagedIdentity, 1, "2026-11-18T00:00:00Z", "2026-11-18T00:00:00Z", ""},
		{"InteractiveSignIns_x.csv", "Date (UTC),Request ID,Username\n\"2026-11-18T00:00:00Z\",a,\"multi\nline\"\n",
			KindInteractive, 1, "2026-11-18T00:00:00Z", "2026-11-18T00:00:00Z", ""},
		{"page.json", `{"@odata.context":"c","value":[{"id":"1","activityDateTime":"2026-11-17T01:02:03.1234567Z"}]}`,
			KindAudits, 1, "2026-11-17T01:02:03.1234567Z", "2026-11-17T01:02:03.1234567Z", ""},
		{"MSISignIns.json", `[{"id":"1","createdDateTime":"2026-11-17T00:00:00Z","managedServiceIdentity":{"msiType":"userAssigned"}}]`,
			KindManagedIdentity, 1, "2026-11-17T00:00:00Z", "2026-11-17T00:00:00Z", ""},
		{"MSISignIns_2026-11-13_2026-11-20.json", `[{"id":"1","createdDateTime":"2026-11-17T00:00:00Z","servicePrincipalId":"s","servicePrincipalName":"vm-backup"}]`,
			KindManagedIdentity, 1, "2026-11-17T00:00:00Z", "2026-11-17T00:00:00Z", ""},
		{"MSISignIns_2026-11-13_2026-11-20.csv", "\ufeffDate (UTC),Request ID,Service principal ID,Service principal name\r\n2026-11-19T00:00:00Z,a,s,vm-backup\r\n",
			KindManagedIdentity, 1, "2026-11-19T00:00:00Z", "2026-11-19T00:00:00Z", ""},
		{"ServicePrincipalSignIns.json", `[{"id":"1","createdDateTime":"2026-11-17T00:00:00Z","servicePrincipalId":"s"}]`,
			KindServicePrincipal, 1, "2026-11-17T00:00:00Z", "2026-11-17T00:00:00Z", ""},
		{"local.csv", "Date,Request ID,Username\n11/17/2026 1:02:03 PM,a,u\n", KindUserSignIns, 1, "", "", "no time zone"},
	}
	for _, c := range cases {
		s, err := Read(strings.NewReader(c.body), c.name)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		first, last := "", ""
		if !s.First.IsZero() {
			first, last = s.First.Format(time.RFC3339Nano), s.Last.Format(time.RFC3339Nano)
		}
		warns := strings.Join(s.Warnings, "; ")
		if s.Kind != c.kind || s.Records != c.records || first != c.first || last != c.last ||
			(c.warn == "") != (warns == "") || !strings.Contains(warns, c.warn) {
			t.Errorf("%s: %+v", c.name, s)
		}
	}
	if _, err := Read(strings.NewReader(`{"hello":1}`), "x.json"); err == nil {
		t.Error("a JSON object without value was accepted")
	}
}
