// Package manifest holds what seals a bundle: the manifest schema, the
// hashing that happens while files are written, the SHA256SUMS file that
// stock tools check, and the verification of a sealed bundle.
//
// It also signs and checks what seals a bundle beside SHA256SUMS: the
// OpenSSH signature (SSHSIG), the RFC 3161 time-stamp and the hash-chained
// custody log. It depends on the standard library, golang.org/x/crypto/ssh,
// github.com/hiddeco/sshsig and github.com/digitorus/timestamp only, so that
// verifying a bundle never needs the Graph client.
package manifest

import (
	"time"
)

// Format names the manifest schema; it changes only with an incompatible change.
const Format = "evidence-manifest/1"

// Well-known file names at the root of every bundle.
const (
	ManifestName = "manifest.json"
	SumsName     = "SHA256SUMS"
	RequestsName = "requests.jsonl"
	ReadmeName   = "README.txt"
)

// Window status values, per sub-window and per source.
const (
	StatusCollected   = "collected"   // every page of the window was read
	StatusClamped     = "clamped"     // the window lies (partly) outside what the tenant still keeps
	StatusUnavailable = "unavailable" // licence or permission: the service refused the source
	StatusFailed      = "failed"      // tried and gave up (errors, throttling budget, timeout)
)

// Manifest describes a sealed bundle: who collected what, from where, when,
// with which queries, what came back and what is missing.
type Manifest struct {
	Format          string    `json:"format"`
	CaseID          string    `json:"case_id"`
	Tool            Tool      `json:"tool"`
	Examiner        string    `json:"examiner"`
	Host            string    `json:"host"`
	OSUser          string    `json:"os_user"`
	Tenant          Tenant    `json:"tenant"`
	Auth            Auth      `json:"auth"`
	CommandLine     []string  `json:"command_line"`
	CollectionStart string    `json:"collection_start"` // RFC 3339 UTC
	CollectionEnd   string    `json:"collection_end"`   // RFC 3339 UTC
	Requested       Window    `json:"requested"`
	Users           []User    `json:"users,omitempty"`
	Sources         []Source  `json:"sources"`
	Complete        bool      `json:"complete"`
	Warnings        []string  `json:"warnings,omitempty"`
	Files           []File    `json:"files"`
	Requests        *Requests `json:"requests,omitempty"`
	Seal            *SealInfo `json:"seal,omitempty"`

	// Attachments describes what the examiner added (--attach) and messages
	// fetched by internet message id (--message-id), under attachments/.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Partial is set when a fatal error (Ctrl-C, a token refused, a full
	// disk) stopped the collection and what was collected was sealed
	// anyway: the bundle is incomplete (exit 3), each window not read
	// says why, and `evidence grab --resume` completes it.
	Partial *Partial `json:"partial,omitempty"`
	Export  *Export  `json:"export,omitempty"`  // set by `evidence export`: the bundle's place in its series
	Imports []Import `json:"imports,omitempty"` // files sealed by `evidence import`
}

// Partial says why a bundle was sealed before its collection finished.
type Partial struct {
	// Reason is "interrupted" (Ctrl-C, SIGINT, SIGTERM), "credentials
	// refused" (401: the token expired or was revoked), "disk full" or
	// "fatal error".
	Reason string `json:"reason"`
	Detail string `json:"detail"` // the error that stopped it, one line
	// Unfinished names the sources[] not collected to their end: the one
	// that was running and those not started. The others are complete.
	Unfinished []string `json:"unfinished"`
	Resume     string   `json:"resume,omitempty"` // the command that completes the collection
	// Omitted names the files made from the records (the CSV views,
	// report.html) that this bundle leaves out, and why: on a full disk
	// ("disk full") they give their room to sealing the records, and
	// `evidence grab --resume` writes them again. Absent when none is.
	Omitted []Omitted `json:"omitted,omitempty"`
}

// Omitted is a file a partial bundle leaves out.
type Omitted struct {
	Path   string `json:"path"`   // the path it has in a complete bundle
	Reason string `json:"reason"` // why it is left out, e.g. "disk full"
}

// Attachment kinds.
const (
	AttachmentFile    = "file"    // a file given with --attach
	AttachmentMessage = "message" // a message's MIME fetched with --message-id
)

// Attachment is one file under attachments/: where it is in the bundle, its
// SHA-256 and size (also in files[]), and where it came from.
type Attachment struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// For --attach: the file's original name and modification time (UTC).
	OriginalName string `json:"original_name,omitempty"`
	ModTime      string `json:"mtime,omitempty"`
	// For --message-id: whose mailbox, the internet message id asked for,
	// Graph's message id and when the message was received.
	UserID            string `json:"user_id,omitempty"`
	InternetMessageID string `json:"internet_message_id,omitempty"`
	MessageID         string `json:"message_id,omitempty"`
	Received          string `json:"received,omitempty"`
}

// Import describes a file a person downloaded (e.g. from the Entra admin
// center) and `evidence import` sealed into the bundle as it was.
type Import struct {
	Path         string   `json:"path"`          // in the bundle
	OriginalName string   `json:"original_name"` // the file's name when imported
	OriginalPath string   `json:"original_path"` // where it was read from, on the importing machine
	Modified     string   `json:"modified,omitempty"`
	Size         int64    `json:"size"`
	SHA256       string   `json:"sha256"` // of the bytes read at import time
	ImportedBy   string   `json:"imported_by"`
	ImportedAt   string   `json:"imported_at"` // UTC
	Kind         string   `json:"kind"`        // signins.interactive, ..., audits, unknown
	Format       string   `json:"format,omitempty"`
	Records      *int64   `json:"records,omitempty"`
	First        string   `json:"first,omitempty"` // earliest record time, UTC
	Last         string   `json:"last,omitempty"`  // latest record time, UTC
	TimeColumn   string   `json:"time_column,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`

	// Scope is what the import asked of the file (`import --user --since
	// --until`), or "as downloaded" when it asked nothing.
	Scope string `json:"scope,omitempty"`
	// InScope counts the records within Scope; OutOfScope those outside it
	// (InScope + OutOfScope = Records). When any is outside, the file's
	// records are also split, each byte for byte, into SubjectPath (within
	// the scope) and OutOfScopePath (the rest): copies beside the untouched
	// original at Path, never mixed. Any outside makes the bundle incomplete.
	InScope        *int64 `json:"in_scope,omitempty"`
	OutOfScope     int64  `json:"out_of_scope,omitempty"`
	SubjectPath    string `json:"subject_path,omitempty"`
	OutOfScopePath string `json:"out_of_scope_path,omitempty"`
	// ScopeNote says what the scope check could not judge (e.g. service
	// principal sign-ins name no user; times without a zone).
	ScopeNote string `json:"scope_note,omitempty"`
}

// Tool identifies the program that wrote the bundle.
type Tool struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"go_version,omitempty"`
}

// Tenant identifies the Microsoft 365 tenant the evidence came from.
type Tenant struct {
	ID          string `json:"id,omitempty"`
	Domain      string `json:"domain,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	GraphURL    string `json:"graph_url"`
	License     string `json:"license,omitempty"` // Entra ID tier as probed: free, premium or unknown
}

// Auth records how the tool signed in: the method and the identity (an app id
// or a UPN), never a secret.
type Auth struct {
	Method   string `json:"method"`
	Identity string `json:"identity,omitempty"`
}

// Window is a half-open UTC interval [Start, End), both RFC 3339.
type Window struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// NewWindow formats a half-open interval for the manifest.
func NewWindow(start, end time.Time) Window {
	return Window{Start: FormatTime(start), End: FormatTime(end)}
}

// FormatTime renders t as RFC 3339 in UTC with as many fractional digits as
// it has (none for whole seconds).
func FormatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// User is one user the collection was scoped to, as resolved in the tenant.
type User struct {
	Requested string `json:"requested"` // what was given on the command line
	ID        string `json:"id"`
	UPN       string `json:"upn"`
	Mail      string `json:"mail,omitempty"`
}

// Source accounts for one collected source: the endpoint and query, and what
// each sub-window gave.
type Source struct {
	Name     string      `json:"name"`
	Endpoint string      `json:"endpoint"`
	Query    string      `json:"query,omitempty"`
	Status   string      `json:"status"`
	Reason   string      `json:"reason,omitempty"`
	Records  int64       `json:"records"`
	Pages    int64       `json:"pages"`
	Windows  []SubWindow `json:"windows"`
	Missing  []Gap       `json:"missing,omitempty"`
	Files    []string    `json:"files,omitempty"`
	// Duplicates counts records Graph returned that were not written again
	// because an identical record (same identity) was already written: the
	// same audit on both sides of a user, overlapping windows, an overlap
	// re-read. Records = the windows' records - Duplicates.
	Duplicates int64 `json:"duplicates,omitempty"`
	// Counts are named tallies a source reports beyond records and pages
	// (e.g. messagetrace: rows_returned, details_skipped_budget).
	Counts map[string]int64 `json:"counts,omitempty"`
	// OutOfScope counts records Graph returned outside what was asked (the
	// user, the apps, the window): kept byte-exact in the out-of-scope files
	// (<source file>.out-of-scope.jsonl), never in the subject's files, and
	// not counted in Records. Any makes the bundle incomplete.
	OutOfScope int64 `json:"outOfScope,omitempty"`
	// API says which Graph version answered where a source can use more
	// than one (sign-ins: beta, or v1.0 when beta is refused).
	API *SourceAPI `json:"api,omitempty"`

	Export *SourceExport `json:"export,omitempty"` // set by `evidence export`: watermarks and de-duplication

	// Asynchronous query APIs (the unified audit log).
	Submissions int64       `json:"submissions,omitempty"` // queries created by this run (they count against a tenant quota)
	Reused      int64       `json:"reused,omitempty"`      // queries of an interrupted run re-used by --resume
	Superseded  []SubWindow `json:"superseded,omitempty"`  // queries whose result was replaced by smaller ones (record limit reached)
}

// Summarize sets the source's totals and status from its windows and gaps,
// by the rules verify checks: Pages is the sum of the windows' pages,
// Records the sum of their records less Duplicates and OutOfScope; Status
// and Reason are those of the first window not collected, else of the first
// gap, else collected. The collectors and export use it (the unified audit
// log counts as it copies its spooled pages).
func (s *Source) Summarize() {
	s.Status, s.Reason = StatusCollected, ""
	s.Records, s.Pages = -s.Duplicates-s.OutOfScope, 0
	for _, w := range s.Windows {
		s.Records += w.Records
		s.Pages += w.Pages
		if w.Status != StatusCollected && s.Status == StatusCollected {
			s.Status, s.Reason = w.Status, w.Reason
		}
	}
	if s.Status == StatusCollected && len(s.Missing) > 0 {
		s.Status, s.Reason = s.Missing[0].Status, s.Missing[0].Reason
	}
}

// OutOfScopeSuffix ends the name of the file beside a source's record file
// that holds the records Graph returned outside what was asked:
// signins/interactive.jsonl -> signins/interactive.out-of-scope.jsonl.
const OutOfScopeSuffix = ".out-of-scope.jsonl"

// OutOfScopeSource is the files[].source of the records a source kept apart
// as outside what was asked: they belong to source, beside its own.
func OutOfScopeSource(source string) string { return source + ".out-of-scope" }

// SourceAPI is the Graph version a source's records came from.
type SourceAPI struct {
	Version string `json:"version"`          // "beta" or "v1.0"
	Reason  string `json:"reason,omitempty"` // why this version (e.g. beta refused)
	// FieldsNotHeld are properties the records cannot carry because this
	// version's resource lacks them (v1.0 signIn: authenticationDetails, ...).
	FieldsNotHeld []string `json:"fieldsNotHeld,omitempty"`
}

// Gap is an interval of a source that was asked for but is known not to be
// in the bundle, and why: outside the tenant's retention, clamped by an API
// limit, refused, or lost to a failure. A gap makes the bundle incomplete.
type Gap struct {
	Window
	Scope  string `json:"scope,omitempty"`
	Status string `json:"status"` // clamped, unavailable or failed
	Reason string `json:"reason"`
}

// SubWindow is the unit of accounting: one query over one half-open window.
type SubWindow struct {
	Window
	Scope   string `json:"scope,omitempty"` // e.g. the user id the query was filtered by
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Pages   int64  `json:"pages"`
	Records int64  `json:"records"`
	Query   string `json:"query,omitempty"`
	QueryID string `json:"query_id,omitempty"` // the service's id of an asynchronous query
}

// File describes one file of the bundle. Every file but SHA256SUMS (and its
// signatures) is listed; manifest.json lists every file but itself.
type File struct {
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	Records   *int64 `json:"records,omitempty"` // lines, for .jsonl files
	Source    string `json:"source,omitempty"`
	MediaType string `json:"media_type"`
}

// Requests summarises the provenance log.
type Requests struct {
	Total         int64   `json:"total"`
	Retries       int64   `json:"retries"`
	Throttled     int64   `json:"throttled"`
	ThrottleWaitS float64 `json:"throttle_wait_seconds"`
}

// Incomplete reports whether any source or sub-window was not fully collected.
func (m *Manifest) Incomplete() bool {
	for _, i := range m.Imports {
		if i.OutOfScope > 0 {
			return true
		}
	}
	for _, s := range m.Sources {
		if s.Status != StatusCollected || len(s.Missing) > 0 || s.OutOfScope > 0 {
			return true
		}
		for _, w := range s.Windows {
			if w.Status != StatusCollected {
				return true
			}
		}
	}
	return false
}

// SealInfo announces, inside the sealed manifest, what seals the bundle
// beside SHA256SUMS, so that a signature or time-stamp that was removed is
// a finding rather than an unsigned bundle. The key named here is
// informational: a verifier trusts only the keys it is given.
type SealInfo struct {
	Signature      string `json:"signature,omitempty"`       // "SHA256SUMS.sig"
	KeyFingerprint string `json:"key_fingerprint,omitempty"` // "SHA256:..."
	Timestamp      string `json:"timestamp,omitempty"`       // "SHA256SUMS.tsr"
	TSA            string `json:"tsa,omitempty"`             // the time-stamp authority's URL (README.txt names it)
	CustodyLog     string `json:"custody_log,omitempty"`     // "custody.log.jsonl"
}
