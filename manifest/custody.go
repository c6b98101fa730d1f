package manifest

import (
	"strings"
	"time"
)

// Custody actions. A custody log records what happened to a bundle, in order.
const (
	ActionCollected   = "collected"
	ActionSealed      = "sealed"
	ActionArchived    = "archived"
	ActionUploaded    = "uploaded"
	ActionVerified    = "verified"
	ActionTransferred = "transferred"
	ActionReceived    = "received"
	ActionNote        = "note"
)

// CustodyActions lists the actions a custody entry may carry.
var CustodyActions = []string{ActionCollected, ActionSealed, ActionArchived, ActionUploaded,
	ActionVerified, ActionTransferred, ActionReceived, ActionNote}

// ArchiveSuffix ends the name of a bundle archive.
const ArchiveSuffix = ".tar.zst"

// CustodySuffix ends the name of the custody log kept beside an archive:
// NAME.custody.jsonl beside NAME.tar.zst.
const CustodySuffix = ".custody.jsonl"

// Custody is custody.json: the sealed statement of who collected the bundle,
// where, when and what was asked. It is written before sealing and listed in
// SHA256SUMS like every other file.
type Custody struct {
	Format      string   `json:"format"` // CustodyFormat
	CaseID      string   `json:"case_id"`
	Examiner    string   `json:"examiner"`
	Host        string   `json:"host"`
	OSUser      string   `json:"os_user"`
	Tool        Tool     `json:"tool"`
	Tenant      Tenant   `json:"tenant"`
	Auth        Auth     `json:"auth"`
	CommandLine []string `json:"command_line"`
	Requested   Window   `json:"requested"`
	Users       []User   `json:"users,omitempty"`
	Sources     []string `json:"sources"`
	Started     string   `json:"collection_start"`
	Ended       string   `json:"collection_end"`
	// Signer is the fingerprint of the key that signs SHA256SUMS and the
	// first custody entries, empty for an unsigned bundle. Informational:
	// trust comes from the key the verifier is given, never from here.
	Signer string `json:"signer,omitempty"`
	// CustodyLog names the custody log the bundle starts (custody.log.jsonl);
	// its absence from a bundle is then a finding.
	CustodyLog string `json:"custody_log"`
}

// CustodyFormat names the custody.json and custody log schema.
const CustodyFormat = "evidence-custody/1"

// CustodyEvent is one thing that happened to a bundle, to be appended to
// its custody log.
type CustodyEvent struct {
	Time    time.Time
	Actor   string // who (a person or a team), as they name themselves
	Host    string // the machine the event was recorded on
	Action  string // one of CustodyActions
	Details map[string]string
}

// CustodyEntry is one line of a custody log. Each line is the canonical JSON
// of the entry; Prev is the SHA-256 (hex) of the previous line's bytes, or,
// for the first entry, of the bundle's SHA256SUMS, which binds the log to
// the seal. Sig is the base64 SSHSIG (namespace "evidence-custody",
// SHA-512) of the canonical JSON of the entry without Sig, by the Ed25519
// key in Key (an OpenSSH public key line); both are empty for an unsigned
// entry.
type CustodyEntry struct {
	Seq     int               `json:"seq"`
	Time    string            `json:"time"`
	Actor   string            `json:"actor"`
	Host    string            `json:"host"`
	Action  string            `json:"action"`
	Details map[string]string `json:"details,omitempty"`
	Prev    string            `json:"prev"`
	Key     string            `json:"key,omitempty"`
	Sig     string            `json:"sig,omitempty"`
}

// CustodyPathFor returns where the custody log of the bundle at p lives: for
// an archive NAME.tar.zst, NAME.custody.jsonl beside it (an archive's bytes
// never change); for a bundle directory, custody.log.jsonl inside it.
func CustodyPathFor(p string) string {
	if base, ok := strings.CutSuffix(p, ArchiveSuffix); ok {
		return base + CustodySuffix
	}
	return strings.TrimRight(p, "/") + "/" + CustodyLogName
}
