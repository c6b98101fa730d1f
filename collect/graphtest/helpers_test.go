package graphtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testToken = "test-token"

var testNow = time.Date(2026, 11, 25, 1, 56, 0, 0, time.UTC)

// far bounds for "everything" windows.
var (
	beginning = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	ending    = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

func newTestServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	if cfg.Now.IsZero() {
		cfg.Now = testNow
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func newClient(t testing.TB) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// fetch GETs u with the test token (or tok when given).
func fetch(t testing.TB, c *http.Client, u string, tok ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	bearer := testToken
	if len(tok) > 0 {
		bearer = tok[0]
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// mustGet GETs u and fails the test unless it answers want.
func mustGet(t testing.TB, c *http.Client, u string, want int) []byte {
	t.Helper()
	resp, b, err := fetch(t, c, u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d: %s", u, resp.StatusCode, want, b)
	}
	return b
}

type page struct {
	Context  string            `json:"@odata.context"`
	NextLink string            `json:"@odata.nextLink"`
	Value    []json.RawMessage `json:"value"`
}

type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// logRecord holds the fields tests look at in sign-ins and audits.
type logRecord struct {
	ID               string `json:"id"`
	CreatedDateTime  string `json:"createdDateTime"`
	ActivityDateTime string `json:"activityDateTime"`
	IPAddress        string `json:"ipAddress"`
	AppDisplayName   string `json:"appDisplayName"`
	UserID           string `json:"userId"`
	Activity         string `json:"activityDisplayName"`
	Status           struct {
		ErrorCode int `json:"errorCode"`
	} `json:"status"`
	Location struct {
		City    string `json:"city"`
		Country string `json:"countryOrRegion"`
	} `json:"location"`
	InitiatedBy struct {
		User struct {
			ID        string `json:"id"`
			IPAddress string `json:"ipAddress"`
		} `json:"user"`
	} `json:"initiatedBy"`
	TargetResources []struct {
		ID                 string `json:"id"`
		DisplayName        string `json:"displayName"`
		ModifiedProperties []struct {
			DisplayName string `json:"displayName"`
			NewValue    string `json:"newValue"`
		} `json:"modifiedProperties"`
	} `json:"targetResources"`
}

func (r logRecord) time(t testing.TB) time.Time {
	s := r.CreatedDateTime
	if s == "" {
		s = r.ActivityDateTime
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("record %s: bad timestamp %q", r.ID, s)
	}
	return ts
}

// logURL builds base+path with the given options, encoded the way kiota
// does ($ kept, values percent-encoded).
func logURL(base, path string, kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+"="+strings.ReplaceAll(url.QueryEscape(kv[i+1]), "+", "%20"))
	}
	if len(parts) == 0 {
		return base + path
	}
	return base + path + "?" + strings.Join(parts, "&")
}

// pageAll follows nextLinks from u and returns every record and the number
// of pages.
func pageAll(t testing.TB, c *http.Client, u string) ([]logRecord, int) {
	t.Helper()
	var out []logRecord
	pages := 0
	for u != "" {
		b := mustGet(t, c, u, http.StatusOK)
		var p page
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("decode page: %v", err)
		}
		for _, raw := range p.Value {
			var r logRecord
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		pages++
		u = p.NextLink
		if pages > 100000 {
			t.Fatal("too many pages")
		}
	}
	return out, pages
}

func ids(rs []logRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// sameIDs reports the first difference between two id lists.
func sameIDs(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d ids, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: id %d = %s, want %s", what, i, got[i], want[i])
		}
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s: duplicate id %s", what, id)
		}
		seen[id] = true
	}
}

func ts(t time.Time) string { return FormatTime(t) }
