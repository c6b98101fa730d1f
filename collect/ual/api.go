package ual

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/evidence-dfir/evidence/collect"
)

// ClassAuditRead is the budget class of status polls and record pages. They
// are not query submissions (collect.ClassAuditQuery, 200 per 24 h): Graph
// documents no separate budget for them, so they are unpaced unless
// --budget auditread=N/DUR sets one; a 429 is still honoured.
const ClassAuditRead = "auditread"

// Query statuses (microsoft.graph.security.auditLogQueryStatus).
const (
	StatusNotStarted = "notStarted"
	StatusRunning    = "running"
	StatusSucceeded  = "succeeded"
	StatusFailed     = "failed"
	StatusCancelled  = "cancelled"
)

// queryState is what a GET of an auditLogQuery tells.
type queryState struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	RecordCountLimit  *int64 `json:"recordCountLimit"`
	Approximate       *int64 `json:"approximateReturnedRecordCount"`
	LimitExceeded     *bool  `json:"isRecordCountLimitExceeded"`
	FilterStart       string `json:"filterStartDateTime"`
	FilterEnd         string `json:"filterEndDateTime"`
	UserPrincipalName any    `json:"userPrincipalNameFilters"`
}

// filters are the query's filters besides the time range.
type filters struct {
	name        string
	upns        []string
	operations  []string
	recordTypes []string
	service     string // one service per query (see serviceForm)
	keyword     string
}

// Service filter forms: the v1.0 reference lists serviceFilters (a string
// collection), the beta reference and both create pages serviceFilter (a
// string). The collector sends the collection form first and falls back to
// the string form when the service refuses the property.
const (
	formList   = "serviceFilters"
	formString = "serviceFilter"
)

// body renders the POST body. Keys in a fixed order, so the manifest shows
// exactly what was sent.
func (f filters) body(w collect.Window, form string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"@odata.type":"#microsoft.graph.security.auditLogQuery"`)
	put := func(k string, v any) {
		j, _ := json.Marshal(v)
		b.WriteString(`,"` + k + `":`)
		b.Write(j)
	}
	put("displayName", f.name)
	put("filterStartDateTime", collect.ODataTime(w.Start))
	put("filterEndDateTime", collect.ODataTime(w.End))
	if len(f.upns) > 0 {
		put("userPrincipalNameFilters", f.upns)
	}
	if len(f.operations) > 0 {
		put("operationFilters", f.operations)
	}
	if len(f.recordTypes) > 0 {
		put("recordTypeFilters", f.recordTypes)
	}
	if f.service != "" {
		if form == formString {
			put(formString, f.service)
		} else {
			put(formList, []string{f.service})
		}
	}
	if f.keyword != "" {
		put("keywordFilter", f.keyword)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// api issues the audit log query requests through the shared client.
type api struct {
	c       *collect.Client
	base    string // .../beta or .../v1.0
	source  string
	formMu  sync.Mutex
	form    string // accepted service filter form, "" until known
	firstFm string // the form documented for the version
}

func newAPI(c *collect.Client, version, source string) *api {
	// The newest reference page (v1.0 auditLogQuery, 2026-09) lists the
	// collection form; try it first on both versions.
	return &api{c: c, base: c.BaseURL(version), source: source, firstFm: formList}
}

func (a *api) queriesURL() string { return a.base + "/security/auditLog/queries" }

// create submits a query and returns its id and the body that was accepted.
func (a *api) create(ctx context.Context, f filters, w collect.Window) (string, []byte, error) {
	if f.service == "" {
		return a.post(ctx, f.body(w, ""))
	}
	a.formMu.Lock()
	form := a.form
	if form != "" {
		a.formMu.Unlock()
		return a.post(ctx, f.body(w, form))
	}
	// Undecided: try the documented form, then the other, holding the lock
	// so that one probe decides for every window.
	defer a.formMu.Unlock()
	for _, fm := range []string{a.firstFm, other(a.firstFm)} {
		id, body, err := a.post(ctx, f.body(w, fm))
		var ge *collect.GraphError
		if err != nil && errors.As(err, &ge) && ge.Status == http.StatusBadRequest && strings.Contains(ge.Message, fm) {
			continue
		}
		if err == nil {
			a.form = fm
		}
		return id, body, err
	}
	return "", nil, fmt.Errorf("the service accepted neither serviceFilters nor serviceFilter")
}

func other(form string) string {
	if form == formList {
		return formString
	}
	return formList
}

// ServiceForm is the service filter form the service accepted ("" when no
// service filter was sent).
func (a *api) serviceForm() string {
	a.formMu.Lock()
	defer a.formMu.Unlock()
	return a.form
}

func (a *api) post(ctx context.Context, body []byte) (string, []byte, error) {
	var st queryState
	_, err := a.c.Do(ctx, collect.Request{Class: collect.ClassAuditQuery, Source: a.source, Method: http.MethodPost, URL: a.queriesURL(), Body: body},
		func(b []byte) (int, error) {
			if err := json.Unmarshal(b, &st); err != nil {
				return 0, fmt.Errorf("auditLogQuery: %w", err)
			}
			if st.ID == "" {
				return 0, errors.New("auditLogQuery without id")
			}
			return 0, nil
		})
	if err != nil {
		return "", nil, err
	}
	return st.ID, body, nil
}

// get reads a query's status.
func (a *api) get(ctx context.Context, id string) (*queryState, error) {
	var st queryState
	_, err := a.c.Do(ctx, collect.Request{Class: ClassAuditRead, Source: a.source, URL: a.queriesURL() + "/" + url.PathEscape(id)},
		func(b []byte) (int, error) {
			st = queryState{}
			if err := json.Unmarshal(b, &st); err != nil {
				return 0, fmt.Errorf("auditLogQuery: %w", err)
			}
			if st.Status == "" {
				return 0, errors.New("auditLogQuery without status")
			}
			return 0, nil
		})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// recordsURL is the first page of a query's records.
func (a *api) recordsURL(id string, pageSize int) string {
	u := a.queriesURL() + "/" + url.PathEscape(id) + "/records"
	if pageSize > 0 {
		u += fmt.Sprintf("?$top=%d", pageSize)
	}
	return u
}
