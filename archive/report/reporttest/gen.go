// Package reporttest generates large, realistic record files for the report
// page's scale tests and benchmarks: sign-ins shaped like Graph's signIn
// resource (the same fields and sizes as the simulated tenant serves),
// newest first, spread over many users, IP addresses and countries.
package reporttest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// signIn is one interactive sign-in as Graph returns it (about 1.5 KB).
const signIn = `{"id":"%08x-a2ff-5b16-907e-%012x","createdDateTime":"%s","userDisplayName":"User %[4]d","userPrincipalName":"user%04[4]d@contoso.com","userId":"26b055ce-e4e6-582d-a657-%012[4]x","appId":"1fec8e78-bce4-4aaf-ab1b-5451cc387264","appDisplayName":"%[5]s","ipAddress":"%[6]s","clientAppUsed":"Mobile Apps and Desktop clients","correlationId":"491cba81-b3fd-45a6-835c-%012[2]x","conditionalAccessStatus":"notApplied","isInteractive":true,"riskDetail":"none","riskLevelAggregated":"none","riskLevelDuringSignIn":"none","riskState":"none","riskEventTypes":[],"riskEventTypes_v2":[],"resourceDisplayName":"Microsoft Graph","resourceId":"00000003-0000-0000-c000-000000000000","status":{"errorCode":%[7]d,"failureReason":%[8]s,"additionalDetails":null},"deviceDetail":{"deviceId":"c1ab0df3-fd57-54b5-a981-6788e21ff29f","displayName":"CONTOSO-F400","operatingSystem":"Windows 10","browser":"Rich Client 5.6.0","isCompliant":true,"isManaged":true,"trustType":"Azure AD joined"},"location":{"city":"%[9]s","state":"","countryOrRegion":"%[10]s","geoCoordinates":{"altitude":null,"latitude":47.6062,"longitude":-122.3321}},"appliedConditionalAccessPolicies":[{"id":"5d2a8b1c-7f3e-4c6a-9e21-3b8f0c4d7a15","displayName":"Require MFA for administrators","enforcedGrantControls":[],"enforcedSessionControls":[],"result":"notApplied"},{"id":"9b4e6f02-1c8d-4a37-b5e9-6d2f8a0c3e71","displayName":"Block legacy authentication","enforcedGrantControls":[],"enforcedSessionControls":[],"result":"notApplied"}]}` + "\n"

var (
	apps   = []string{"Microsoft Teams", "OfficeHome", "Office 365 Exchange Online", "Microsoft Outlook", "SharePoint Online"}
	places = [][2]string{{"Seattle", "US"}, {"Tokyo", "JP"}, {"Osaka", "JP"}, {"London", "GB"}, {"Amsterdam", "NL"}}
)

// SignIns writes n sign-ins over [start, end), newest first, for users
// users, each with a few home IP addresses; one in 40 fails (50126).
func SignIns(w io.Writer, n, users int, start, end time.Time, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	r := rand.New(rand.NewPCG(seed, 1))
	span := end.Sub(start)
	for i := 0; i < n; i++ {
		// Evenly spread, newest first, with jitter below the step.
		at := end.Add(-time.Duration(float64(span) * (float64(i) + r.Float64()*0.9) / float64(n)))
		u := r.IntN(users)
		ip := fmt.Sprintf("198.51.%d.%d", u%200, 1+r.IntN(3))
		place := places[u%len(places)]
		code, reason := 0, "null"
		if r.IntN(40) == 0 {
			code, reason = 50126, `"Error validating credentials due to invalid username or password."`
		}
		if _, err := fmt.Fprintf(bw, signIn, uint32(r.Uint64()), uint64(i), at.UTC().Format("2006-01-02T15:04:05.0000000Z"),
			u, apps[r.IntN(len(apps))], ip, code, reason, place[0], place[1]); err != nil {
			return err
		}
	}
	return bw.Flush()
}
