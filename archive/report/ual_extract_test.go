package report

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// extractUALByPath is extractUAL as it was until 2026-12-05, one path
// lookup per field: the reference the single walk must agree with (both
// read the parameters alike, ualParameters).
func extractUALByPath(r gjson.Result, ev *Event) {
	ev.Time = parseTime(first(r, "createdDateTime", "auditData.CreationTime"))
	ev.ID = r.Get("id").String()
	ev.User = first(r, "userPrincipalName", "auditData.UserId", "userId")
	ev.UserKey = first(r, "userId", "userPrincipalName", "auditData.UserId")
	ev.IP = stripPort(first(r, "clientIp", "auditData.ClientIP", "auditData.ClientIPAddress"))
	ev.Op = first(r, "operation", "auditData.Operation")
	params := ualParameters(r.Get("auditData.Parameters"), ev)
	ev.Detail = joinNonEmpty(" · ", first(r, "service"), strings.Join(params, ", "))
	ev.UA = first(r, "auditData.UserAgent")
	if len(params) == 0 {
		ev.Detail = joinNonEmpty(" · ", ev.Detail, first(r, "objectId"))
	}
	activityFlag(ev, ev.Op)
}

// ualShapes are audit log records of the shapes the reference's example
// and the simulator send, and the edge cases a walk could read otherwise
// than a lookup: duplicate keys, nulls, blanks, auditData that is not an
// object, escaped keys, forwarding parameters.
var ualShapes = []string{
	`{"id":"e1","createdDateTime":"2026-11-30T08:00:00Z","auditLogRecordType":"exchangeAdmin","operation":"New-InboxRule","organizationId":"o","userType":"regular","userId":"u1","service":"Exchange","objectId":"victim\\.","userPrincipalName":"victim@contoso.com","clientIp":"185.220.101.47:51234","administrativeUnits":[],"auditData":{"CreationTime":"2026-11-30T08:00:00","Operation":"New-InboxRule","UserId":"victim@contoso.com","ClientIP":"185.220.101.47","Parameters":[{"Name":"Name","Value":"."},{"Name":"ForwardTo","Value":"SMTP:attacker@protonmail.example; b@x.example"},{"Name":"DeleteMessage","Value":"True"}]}}`,
	`{"id":"e2","createdDateTime":null,"userPrincipalName":"  ","userId":"u2","auditData":{"CreationTime":"2026-11-30T09:00:00Z","UserId":"alt@contoso.com","ClientIPAddress":"[2001:db8::1]:443","UserAgent":"Mozilla/5.0","Operation":"MailItemsAccessed"}}`,
	`{"id":"e3","id":"dup","operation":"a","operation":"b","auditData":{"Parameters":[{"Name":"RedirectTo","Value":"x@y.example"}],"Parameters":[]},"auditData":{"UserAgent":"second"}}`,
	`{"id":"e4","auditData":"not an object","objectId":"obj","service":"SharePoint","operation":"FileDownloaded"}`,
	`{"id":"e5","auditData":[{"CreationTime":"x"}],"clientIp":"10.0.0.1"}`,
	`{"id":"e6","user\u0050rincipalName":"escaped@contoso.com","auditData":{"Client\u0049P":"1.2.3.4","Parameters":{"Name":"ForwardingSmtpAddress","Value":"smtp:z@z.example"}}}`,
	`{"id":"e7","auditData":{"Parameters":[{"Name":"a","Value":"1"},{"Name":"b","Value":2},{"Name":"","Value":"skip"},{"Name":"c"},{"Name":"d","Value":null},{"Name":"e","Value":"5"},{"Name":"f","Value":"6"},{"Name":"g","Value":"7"}]}}`,
	`{"id":"e8","operation":"Consent to application.","createdDateTime":"2026-11-30T10:00:00.1234567Z","userId":"u3"}`,
	`{}`,
}

// TestExtractUALAsByPath: the single walk of a record fills the event
// exactly as one lookup per field did.
func TestExtractUALAsByPath(t *testing.T) {
	for _, rec := range ualShapes {
		sameUAL(t, rec)
	}
	for _, line := range strings.Split(strings.TrimSpace(story()["ual/records.jsonl"]), "\n") {
		sameUAL(t, line)
	}
}

func FuzzExtractUALAsByPath(f *testing.F) {
	for _, rec := range ualShapes {
		f.Add(rec)
	}
	f.Fuzz(func(t *testing.T, rec string) {
		if gjson.Valid(rec) && gjson.Parse(rec).IsObject() {
			sameUAL(t, rec)
		}
	})
}

func sameUAL(t *testing.T, rec string) {
	t.Helper()
	var got, want Event
	got.Who, got.Where, got.What = &Who{}, &Where{}, &What{}
	want.Who, want.Where, want.What = &Who{}, &Where{}, &What{}
	extractUAL(gjson.Parse(rec), &got)
	extractUALByPath(gjson.Parse(rec), &want)
	if !reflect.DeepEqual(got, want) || *got.Who != *want.Who || *got.Where != *want.Where || *got.What != *want.What {
		t.Errorf("record %s:\n walk   %+v %+v %+v %+v\n lookup %+v %+v %+v %+v", rec, got, *got.Who, *got.Where, *got.What, want, *want.Who, *want.Where, *want.What)
	}
}

// BenchmarkExtractUAL: the CPU one audit log record's event costs, the
// walk against the lookups it replaced (go test -run '^$' -bench ExtractUAL).
func BenchmarkExtractUAL(b *testing.B) {
	rec := gjson.Parse(ualShapes[0])
	for _, c := range []struct {
		name string
		f    func(gjson.Result, *Event)
	}{{"walk", extractUAL}, {"lookup", extractUALByPath}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ev := Event{Who: &Who{}, Where: &Where{}, What: &What{}}
				c.f(rec, &ev)
			}
		})
	}
}
