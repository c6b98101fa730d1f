package blob

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/evidence-dfir/evidence/manifest/durable"
)

// Immutability is a blob version's protection: a time-based retention
// policy (Until, Mode) and a legal hold.
type Immutability struct {
	Until     string `json:"until,omitempty"` // RFC 3339 UTC; empty: no policy
	Mode      string `json:"mode,omitempty"`  // unlocked, locked (or mutable, as the service reports an expired one)
	LegalHold bool   `json:"legal_hold"`
}

// covers says whether im includes what req asks for (retention when
// checkRetain, the hold when checkHold).
func (im Immutability) covers(req Immutability, checkRetain, checkHold bool) bool {
	if checkRetain && req.Until != "" {
		if im.Mode != req.Mode || im.Until == "" {
			return false
		}
		got, err1 := time.Parse(time.RFC3339, im.Until)
		want, err2 := time.Parse(time.RFC3339, req.Until)
		if err1 != nil || err2 != nil || got.Before(want) {
			return false
		}
	}
	if checkHold && req.LegalHold && !im.LegalHold {
		return false
	}
	return true
}

// Protected says whether im protects the blob at now at all.
func (im Immutability) Protected(now time.Time) bool {
	if im.LegalHold {
		return true
	}
	if im.Until == "" || (im.Mode != ModeUnlocked && im.Mode != ModeLocked) {
		return false
	}
	until, err := time.Parse(time.RFC3339, im.Until)
	return err == nil && until.After(now)
}

// String is a one-line description.
func (im Immutability) String() string {
	var parts []string
	if im.Until != "" {
		parts = append(parts, fmt.Sprintf("%s retention until %s", im.Mode, im.Until))
	}
	if im.LegalHold {
		parts = append(parts, "legal hold")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Receipt is the record of one upload, for the custody log: where the blob
// is, which exact version, what it holds, and the protection read back
// from the service (never merely what was asked for).
type Receipt struct {
	URL           string       `json:"url"` // without any SAS
	Container     string       `json:"container"`
	Blob          string       `json:"blob"`
	VersionID     string       `json:"version_id,omitempty"` // empty when the account keeps no versions
	ETag          string       `json:"etag"`
	ContentLength int64        `json:"content_length"`
	LocalFile     string       `json:"local_file"`
	LocalSHA256   string       `json:"local_sha256"`
	SHA256        string       `json:"sha256"`         // of the blob as streamed back
	SHA256Matches bool         `json:"sha256_matches"` // SHA256 == LocalSHA256 and the lengths agree
	Credential    string       `json:"credential"`     // which kind of credential, never the secret
	BlockSize     int64        `json:"block_size"`
	Blocks        int          `json:"blocks"`
	Concurrency   int          `json:"concurrency"`
	UploadedAt    string       `json:"uploaded_at"` // RFC 3339 UTC
	VerifiedAt    string       `json:"verified_at"`
	UploadMBps    float64      `json:"upload_mb_per_s,omitempty"`
	Requested     Immutability `json:"immutability_requested"`
	ReadBack      Immutability `json:"immutability_read_back"`
	Immutable     bool         `json:"immutable"` // the read-back protection covers the request (or, with none requested, exists)
	AllowMutable  bool         `json:"allow_mutable,omitempty"`
	Notes         []string     `json:"notes,omitempty"`
	Warnings      []string     `json:"warnings,omitempty"`
}

// judge sets Immutable from the read-back state and explains a shortfall.
func (r *Receipt) judge(req Immutability, asked bool, now time.Time) {
	if asked {
		r.Immutable = r.ReadBack.covers(req, true, true) && r.ReadBack.Protected(now)
	} else {
		r.Immutable = r.ReadBack.Protected(now)
	}
	if r.Immutable {
		return
	}
	why := "NOT IMMUTABLE: the blob's properties read back show " + r.ReadBack.String()
	if asked {
		why += ", not the requested " + req.String()
	} else {
		why += " and no protection was requested (--retain, --legal-hold) or inherited from a default policy"
	}
	why += "; the container or account does not apply version-level immutability"
	if r.AllowMutable {
		why += " (accepted with --allow-mutable)"
	}
	r.Warnings = append(r.Warnings, why)
}

// JSON is the receipt as indented JSON with a final newline.
func (r *Receipt) JSON() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(r)
	return b.Bytes()
}

// WriteFile writes the receipt as JSON to path, never over an existing file.
func (r *Receipt) WriteFile(path string) error {
	return durable.WriteBytes(path, 0o644, durable.Create, r.JSON())
}

// Print writes the receipt for people, one fact per line.
func (r *Receipt) Print(w io.Writer) {
	fmt.Fprintf(w, "  blob: %s\n", r.URL)
	if r.VersionID != "" {
		fmt.Fprintf(w, "    version id: %s\n", r.VersionID)
	} else {
		fmt.Fprintln(w, "    version id: none (the account keeps no blob versions)")
	}
	fmt.Fprintf(w, "    etag: %s, %d bytes in %d blocks of %d\n", r.ETag, r.ContentLength, r.Blocks, r.BlockSize)
	match := "MISMATCH"
	if r.SHA256Matches {
		match = "matches the local archive"
	}
	fmt.Fprintf(w, "    SHA-256 read back: %s (%s)\n", r.SHA256, match)
	fmt.Fprintf(w, "    immutability read back: %s\n", r.ReadBack)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "    note: %s\n", n)
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "    WARNING: %s\n", x)
	}
}

// State is a blob's current properties, as verify reports them.
type State struct {
	URL            string
	VersionID      string
	ETag           string
	ContentLength  int64
	LastModified   string
	MetadataSHA256 string // the sha256 recorded at upload, if any
	Immutability   Immutability
}

func stateFrom(p blob.GetPropertiesResponse) State {
	var st State
	if p.VersionID != nil {
		st.VersionID = *p.VersionID
	}
	if p.ETag != nil {
		st.ETag = string(*p.ETag)
	}
	if p.ContentLength != nil {
		st.ContentLength = *p.ContentLength
	}
	if p.LastModified != nil {
		st.LastModified = p.LastModified.UTC().Format(time.RFC3339)
	}
	for k, v := range p.Metadata {
		if strings.EqualFold(k, "sha256") && v != nil {
			st.MetadataSHA256 = *v
		}
	}
	if p.ImmutabilityPolicyExpiresOn != nil {
		st.Immutability.Until = p.ImmutabilityPolicyExpiresOn.UTC().Format(time.RFC3339)
	}
	if p.ImmutabilityPolicyMode != nil {
		st.Immutability.Mode = strings.ToLower(string(*p.ImmutabilityPolicyMode))
	}
	if p.LegalHold != nil {
		st.Immutability.LegalHold = *p.LegalHold
	}
	return st
}

// Stat reads the properties of the blob named by the target's path.
func (s *Store) Stat(ctx context.Context) (*State, error) {
	bc, err := s.client(s.target.Path)
	if err != nil {
		return nil, err
	}
	p, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return nil, s.wrap("reading "+s.target.String(), err)
	}
	st := stateFrom(p)
	st.URL = s.target.String()
	return &st, nil
}

// Open streams the blob named by the target's path, as it is at etag (a
// change while reading is an error, not a mix of two versions).
func (s *Store) Open(ctx context.Context, etag string) (io.ReadCloser, error) {
	if s.target.Path == "" {
		return nil, fmt.Errorf("%s names a container, not a blob", s.target)
	}
	bc, err := s.client(s.target.Path)
	if err != nil {
		return nil, err
	}
	r, err := s.open(ctx, bc, etag)
	if err != nil {
		return nil, err
	}
	return &scrubReader{r: r, s: s}, nil
}

// scrubReader keeps secrets out of read errors.
type scrubReader struct {
	r io.ReadCloser
	s *Store
}

func (r *scrubReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = r.s.wrap("downloading", err)
	}
	return n, err
}

func (r *scrubReader) Close() error { return r.r.Close() }
