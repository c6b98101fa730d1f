// Package diagtest lays out, in a real blob service (Azurite), a storage
// account as Microsoft Entra diagnostic settings fill it: containers
// insights-logs-<category>, one blob per hour at
// tenantId=<tenant>/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json, each a JSON Lines
// file of resource-log records; and keeps the ground truth (every blob's
// bytes and every line's user) for the tests to compare with.
package diagtest

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // the service's Content-MD5
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
)

// User is a user whose records the archive holds.
type User struct{ ID, UPN, Name string }

// Spec is what to lay out.
type Spec struct {
	Tenant     string
	Start, End time.Time // hours [Start, End) get a blob each
	Users      []User
	// Append lays a category out as append blobs (as diagnostic settings
	// write them: no Content-MD5); otherwise block blobs with one.
	Append map[string]bool
	// Missing hours get no blob; Tampered hours get different bytes after
	// their Content-MD5 was set (block blobs), per category.
	Missing, Tampered map[string][]time.Time
	Categories        []string // "SignInLogs", "AuditLogs", ...
	// GraphIP, when set, is the address the first user's Microsoft Graph
	// requests (MicrosoftGraphActivityLogs) come from, e.g. the
	// attacker's; otherwise 198.51.100.N like the sign-ins.
	GraphIP string
}

// Line is one record line and the user it names.
type Line struct {
	Text string
	User User
}

// Blob is one blob as laid out (after any tampering).
type Blob struct {
	Container, Name string
	Hour            time.Time
	Body            []byte
	SHA256          string
	Lines           []Line
}

// Truth is what the archive holds.
type Truth struct {
	Blobs []Blob // in container, then hour order
}

// Subject is the lines naming u in container, in blob then line order,
// over the hours [from, to).
func (t *Truth) Subject(containerName string, u User, from, to time.Time) []string {
	var out []string
	for _, b := range t.Blobs {
		if b.Container != containerName || b.Hour.Before(from) || !b.Hour.Before(to) {
			continue
		}
		for _, l := range b.Lines {
			if l.User == u {
				out = append(out, l.Text)
			}
		}
	}
	return out
}

// Name is the blob name of hour h.
func Name(tenant string, h time.Time) string {
	return fmt.Sprintf("tenantId=%s/y=%04d/m=%02d/d=%02d/h=%02d/m=00/PT1H.json", tenant, h.Year(), int(h.Month()), h.Day(), h.Hour())
}

// Overflow adds hour h's n-th continuation blob (PT1H_<n>.json, written
// when an hour outgrows one append blob) to category cat, with a record
// of each user, and inserts it into the truth after the hour's blob (the
// order a listing returns them in).
func (t *Truth) Overflow(tb testing.TB, acct Account, s Spec, cat string, h time.Time, n int) {
	tb.Helper()
	name := "insights-logs-" + strings.ToLower(cat)
	b := Blob{Container: name, Name: strings.TrimSuffix(Name(s.Tenant, h), ".json") + fmt.Sprintf("_%d.json", n), Hour: h}
	var body bytes.Buffer
	for i, u := range s.Users {
		l := line(s, cat, u, h.Add(59*time.Minute+time.Duration(i)*time.Second), 900000+n*10+i)
		b.Lines = append(b.Lines, Line{Text: l, User: u})
		body.WriteString(l + "\n")
	}
	b.Body = body.Bytes()
	sum := sha256.Sum256(b.Body)
	b.SHA256 = hex.EncodeToString(sum[:])
	if err := upload(context.Background(), acct.container(tb, name), &b, s.Append[cat], false); err != nil {
		tb.Fatal(err)
	}
	at := len(t.Blobs)
	for i, x := range t.Blobs {
		if x.Container == name && x.Hour.Equal(h) {
			at = i + 1
		}
	}
	t.Blobs = append(t.Blobs[:at], append([]Blob{b}, t.Blobs[at:]...)...)
}

func has(hs []time.Time, h time.Time) bool {
	for _, x := range hs {
		if x.Equal(h) {
			return true
		}
	}
	return false
}

// line renders the n-th record of a category for u at t.
func line(s Spec, cat string, u User, t time.Time, n int) string {
	tenant := s.Tenant
	ts := t.UTC().Format("2006-01-02T15:04:05.0000000Z")
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n)
	env := fmt.Sprintf(`"time":"%s","resourceId":"/tenants/%s/providers/Microsoft.aadiam","tenantId":"%s","correlationId":"%s","Level":4`, ts, tenant, tenant, id)
	switch cat {
	case "AuditLogs":
		// The subject as the target, by object id only (no UPN): the
		// filter must match the id.
		return fmt.Sprintf(`{%s,"operationName":"Update user","category":"AuditLogs","resultType":"","callerIpAddress":"203.0.113.9","identity":"Admin","properties":{"id":"Directory_%s","activityDateTime":"%s","activityDisplayName":"Update user","initiatedBy":{"app":{"appId":"a0c1","displayName":"Portal"}},"targetResources":[{"id":"%s","displayName":"%s","type":"User","userPrincipalName":null}]}}`,
			env, id, ts, u.ID, u.Name)
	case "MicrosoftGraphActivityLogs":
		// A Graph request: the table's columns (reference/tables/
		// microsoftgraphactivitylogs) under "properties".
		ip := fmt.Sprintf("198.51.100.%d", n%250)
		if s.GraphIP != "" && len(s.Users) > 0 && u == s.Users[0] {
			ip = s.GraphIP
		}
		return fmt.Sprintf(`{%s,"operationName":"Microsoft Graph Activity","category":"MicrosoftGraphActivityLogs","resultType":"","callerIpAddress":"%s","properties":{"timeGenerated":"%s","requestId":"%s","operationId":"%s","apiVersion":"v1.0","requestMethod":"GET","requestUri":"https://graph.microsoft.com/v1.0/users/%s/messages?$top=50","responseStatusCode":200,"responseSizeBytes":20480,"durationMs":120,"appId":"e9b154d0-7658-433b-bb25-6b8e0a8a7c59","userId":"%s","servicePrincipalId":"","ipAddress":"%s","userAgent":"python-requests/2.31"}}`,
			env, ip, ts, id, id, u.ID, u.ID, ip)
	case "ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs":
		return fmt.Sprintf(`{%s,"operationName":"Sign-in activity","category":"%s","resultType":"0","callerIpAddress":"10.0.0.4","identity":"svc","properties":{"id":"%s","createdDateTime":"%s","servicePrincipalId":"5c1e","servicePrincipalName":"svc"}}`, env, cat, id, ts)
	default:
		upn := u.UPN
		if n%5 == 0 {
			upn = strings.ToUpper(upn) // UPNs compare case-insensitively
		}
		return fmt.Sprintf(`{%s,"operationName":"Sign-in activity","category":"%s","resultType":"0","callerIpAddress":"198.51.100.%d","identity":"%s","location":"NL","properties":{"id":"%s","createdDateTime":"%s","userDisplayName":"%s","userPrincipalName":"%s","userId":"%s","appId":"4765445b-32c6-49b0-83e6-1d93765276ca","appDisplayName":"OfficeHome","ipAddress":"198.51.100.%d"}}`,
			env, cat, n%250, u.Name, id, ts, u.Name, upn, u.ID, n%250)
	}
}

// Account is where an archive is laid out: an emulator's account reached
// with its key (the test's side, never the collector's).
type Account struct {
	ConnectionString string
	Options          *container.ClientOptions // e.g. a transport trusting a test certificate
}

// Plain is the account of an Azurite server started by azuritetest.
func Plain(srv *azuritetest.Server) Account { return Account{ConnectionString: srv.ConnectionString()} }

func (a Account) container(t testing.TB, name string) *container.Client {
	t.Helper()
	c, err := container.NewClientFromConnectionString(a.ConnectionString, name, a.Options)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Seed lays the archive out in the account and returns its truth.
func Seed(t testing.TB, acct Account, s Spec) *Truth {
	t.Helper()
	ctx := context.Background()
	truth := &Truth{}
	n := 0
	for _, cat := range s.Categories {
		name := "insights-logs-" + strings.ToLower(cat)
		cc := acct.container(t, name)
		if _, err := cc.Create(ctx, nil); err != nil {
			t.Fatalf("creating container %s: %v", name, err)
		}
		for h := s.Start; h.Before(s.End); h = h.Add(time.Hour) {
			if has(s.Missing[cat], h) {
				continue
			}
			b := Blob{Container: name, Name: Name(s.Tenant, h), Hour: h}
			var body bytes.Buffer
			for i := 0; i < 2+h.Hour()%3; i++ {
				n++
				u := s.Users[n%len(s.Users)]
				l := line(s, cat, u, h.Add(time.Duration(i*7)*time.Minute+13*time.Second), n)
				if cat == "ServicePrincipalSignInLogs" || cat == "ManagedIdentitySignInLogs" {
					u = User{}
				}
				b.Lines = append(b.Lines, Line{Text: l, User: u})
				body.WriteString(l + "\n")
			}
			b.Body = body.Bytes()
			truth.Blobs = append(truth.Blobs, b)
		}
		var mu sync.Mutex
		var failed error
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		for i := range truth.Blobs {
			if truth.Blobs[i].Container != name {
				continue
			}
			b := &truth.Blobs[i]
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := upload(ctx, cc, b, s.Append[cat], has(s.Tampered[cat], b.Hour)); err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if failed != nil {
			t.Fatalf("seeding %s: %v", name, failed)
		}
	}
	for i := range truth.Blobs {
		sum := sha256.Sum256(truth.Blobs[i].Body)
		truth.Blobs[i].SHA256 = hex.EncodeToString(sum[:])
	}
	return truth
}

func upload(ctx context.Context, cc *container.Client, b *Blob, appendBlob, tamper bool) error {
	if appendBlob {
		ab := cc.NewAppendBlobClient(b.Name)
		if _, err := ab.Create(ctx, nil); err != nil {
			return err
		}
		// The service appends events as they come; one append of the
		// hour's lines gives the same blob with fewer requests.
		_, err := ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(b.Body)), nil)
		return err
	}
	sum := md5.Sum(b.Body) //nolint:gosec // Content-MD5
	body := b.Body
	if tamper {
		// Someone rewrote one record after the blob (and its MD5) were written.
		body = bytes.Replace(body, []byte(`"Update user"`), []byte(`"Update usr!"`), 1)
		b.Body = body
		b.Lines[0].Text = strings.Replace(b.Lines[0].Text, `"Update user"`, `"Update usr!"`, 1)
	}
	bb := cc.NewBlockBlobClient(b.Name)
	if _, err := bb.UploadBuffer(ctx, body, &blockblob.UploadBufferOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("application/json")}}); err != nil {
		return err
	}
	_, err := bb.SetHTTPHeaders(ctx, blob.HTTPHeaders{BlobContentType: ptr("application/json"), BlobContentMD5: sum[:]}, nil)
	return err
}

func ptr[T any](v T) *T { return &v }

// AccountSAS signs an account SAS for the emulator's account (service,
// container and object resources), valid for an hour, with the
// permissions asked: read, and list when list is true.
func AccountSAS(t testing.TB, list bool) string {
	t.Helper()
	cred, err := service.NewSharedKeyCredential(azuritetest.Account, azuritetest.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.AccountSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, StartTime: time.Now().Add(-time.Hour).UTC(), ExpiryTime: time.Now().Add(time.Hour).UTC(),
		Permissions:   (&sas.AccountPermissions{Read: true, List: list}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return q.Encode()
}
