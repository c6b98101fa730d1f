package portal

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/collect"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSplitRecordsEachKind: for every portal download kind and form, the
// records of the asked user inside the window go to one side and the rest
// to the other, each byte for byte; the two sides hold every record once.
func TestSplitRecordsEachKind(t *testing.T) {
	win := collect.Window{Start: mustTime(t, "2026-11-15T00:00:00Z"), End: mustTime(t, "2026-11-16T00:00:00Z")}
	sc := Scope{Users: []string{"victim@contoso.com", "e7819a44-0000-4000-8000-000000000001"}, Window: win}
	cases := []struct {
		name, body    string
		in, out       int64
		inHas, outHas []string
		note          string
	}{
		{"InteractiveSignIns_x.csv",
			"\ufeff\"Date (UTC)\",\"Request ID\",\"User ID\",\"User\",\"Username\"\r\n" +
				"\"2026-11-15T06:01:32Z\",\"r1\",\"e7819a44-0000-4000-8000-000000000001\",\"Megan\",\"victim@contoso.com\"\r\n" +
				"\"2026-11-15T07:00:00Z\",\"r2\",\"aaaa\",\"Bob\",\"bob@contoso.com\"\r\n" +
				"\"2026-11-14T23:59:59.9999999Z\",\"r3\",\"\",\"Megan\",\"VICTIM@contoso.com\"\r\n" +
				"\"2026-11-15 08:00:00Z\",\"r4\",\"\",\"Megan\",\"victim@contoso.com\"\r\n" +
				"\"2026-11-15T09:00:00Z\",\"r5\",\"\",\"Megan\",\"x\n\"\"multi\"\" line\"\r\n",
			2, 3, []string{"r1", "r4"}, []string{"r2", "r3", "r5"}, ""},
		{"NonInteractiveSignIns_x.json", `[
  {"id":"j1","createdDateTime":"2026-11-15T01:00:00Z","userId":"e7819a44-0000-4000-8000-000000000001","isInteractive":false},
  {"id":"j2","createdDateTime":"2026-11-16T00:00:00Z","userPrincipalName":"victim@contoso.com","isInteractive":false},
  {"id":"j3",
   "createdDateTime":"2026-11-15T02:00:00Z","userPrincipalName":"bob@contoso.com","isInteractive":false}
]`, 1, 2, []string{"j1"}, []string{"j2", `{"id":"j3",
   "createdDateTime"`}, ""},
		{"AuditLogs_x.csv",
			"Date (UTC),CorrelationId,Category,Activity,ActorType,ActorObjectId,ActorUserPrincipalName,Target1Type,Target1ObjectId,Target1UserPrincipalName,Target2Type,Target2ObjectId,Target2UserPrincipalName\n" +
				"2026-11-15T01:00:00Z,a1,UserManagement,Reset user password,User,,alice@contoso.com,User,,victim@contoso.com,,,\n" +
				"2026-11-15T02:00:00Z,a2,UserManagement,Reset user password,User,,alice@contoso.com,User,,bob@contoso.com,,,\n" +
				"2026-11-15T03:00:00Z,a3,ApplicationManagement,Consent,User,,victim@contoso.com,ServicePrincipal,,,,,\n" +
				"2026-11-15T04:00:00Z,a4,GroupManagement,Add member,User,,alice@contoso.com,Group,g,,User,e7819a44-0000-4000-8000-000000000001,\n" +
				"2026-11-17T04:00:00Z,a5,ApplicationManagement,Consent,User,,victim@contoso.com,ServicePrincipal,,,,,\n",
			3, 2, []string{"a1", "a3", "a4"}, []string{"a2", "a5"}, ""},
		{"page.json", `{"@odata.context":"c","value":[{"id":"p1","activityDateTime":"2026-11-15T01:02:03.1234567Z","initiatedBy":{"user":{"userPrincipalName":"bob@contoso.com"}},"targetResources":[{"id":"e7819a44-0000-4000-8000-000000000001"}]},{"id":"p2","activityDateTime":"2026-11-15T01:02:03Z","initiatedBy":{"app":{"appId":"x"}},"targetResources":[]}]}`,
			1, 1, []string{"p1"}, []string{"p2"}, ""},
		{"ServicePrincipalSignIns.json", `[{"id":"s1","createdDateTime":"2026-11-15T00:00:00Z","servicePrincipalId":"s"},{"id":"s2","createdDateTime":"2026-11-13T00:00:00Z","servicePrincipalId":"s"}]`,
			1, 1, []string{"s1"}, []string{"s2"}, "user was not checked"},
		{"MSISignIns_x.csv", "Date (UTC),Request ID,Service principal ID,Managed Identity type\n2026-11-15T10:00:00+02:00,m1,s,systemAssigned\n2026-11-15T00:30:00+02:00,m2,s,systemAssigned\n",
			1, 1, []string{"m1"}, []string{"m2"}, "user was not checked"},
		{"local.csv", "Date,Request ID,Username\n11/17/2026 1:02:03 PM,l1,victim@contoso.com\n11/17/2026 1:02:03 PM,l2,bob@contoso.com\n",
			1, 1, []string{"l1"}, []string{"l2"}, "no time in UTC"},
	}
	for _, c := range cases {
		sum, err := Read(strings.NewReader(c.body), c.name)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var in, out bytes.Buffer
		sp, err := SplitRecords(strings.NewReader(c.body), sum, sc, &in, &out)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if sp.InScope != c.in || sp.OutOfScope != c.out || sp.InScope+sp.OutOfScope != sum.Records {
			t.Errorf("%s: %d in, %d out of %d records; want %d, %d", c.name, sp.InScope, sp.OutOfScope, sum.Records, c.in, c.out)
		}
		if (c.note == "") != (sp.Note == "") || !strings.Contains(sp.Note, c.note) {
			t.Errorf("%s: note %q, want %q", c.name, sp.Note, c.note)
		}
		for _, side := range []struct {
			b        *bytes.Buffer
			has, not []string
			n        int64
		}{{&in, c.inHas, c.outHas, c.in}, {&out, c.outHas, c.inHas, c.out}} {
			s := side.b.String()
			for _, h := range side.has {
				if !strings.Contains(s, h) {
					t.Errorf("%s: %q missing from\n%s", c.name, h, s)
				}
			}
			for _, h := range side.not {
				if strings.Contains(s, h) {
					t.Errorf("%s: %q misplaced in\n%s", c.name, h, s)
				}
			}
			// Each side is itself a download of the same kind holding its records.
			got, err := Read(strings.NewReader(s), c.name)
			if err != nil || got.Records != side.n || (side.n > 0 && got.Kind != sum.Kind) {
				t.Errorf("%s: a side re-read: %+v, %v (want %d records)", c.name, got, err, side.n)
			}
		}
		if sum.Format == "csv" {
			// Rows are their original bytes: the two sides less one header each
			// are the original less its header, row for row.
			if in.Len()+out.Len() <= len(c.body) {
				t.Errorf("%s: sides are shorter than the original", c.name)
			}
			for _, line := range []string{"\"2026-11-15T09:00:00Z\",\"r5\",\"\",\"Megan\",\"x\n\"\"multi\"\" line\"\r\n"} {
				if strings.Contains(c.body, line) && !strings.Contains(out.String(), line) {
					t.Errorf("%s: multi-line row not byte-exact", c.name)
				}
			}
			if strings.HasPrefix(c.body, "\ufeff") && (!strings.HasPrefix(in.String(), "\ufeff") || !strings.HasPrefix(out.String(), "\ufeff")) {
				t.Errorf("%s: byte-order mark lost", c.name)
			}
		} else {
			var a []json.RawMessage
			if err := json.Unmarshal(in.Bytes(), &a); err != nil {
				t.Errorf("%s: in side is not a JSON array: %v", c.name, err)
			}
		}
	}
	// The zero scope keeps everything.
	body := cases[0].body
	sum, _ := Read(strings.NewReader(body), cases[0].name)
	sp, err := SplitRecords(strings.NewReader(body), sum, Scope{}, nil, nil)
	if err != nil || sp.InScope != sum.Records || sp.OutOfScope != 0 || !(Scope{}).AsDownloaded() {
		t.Errorf("as downloaded: %+v %v", sp, err)
	}
}
