package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/manifest/durable"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/evidence-dfir/evidence/manifest"
)

// newEntry builds and signs the entry following prevLine (or the seal).
func newEntry(seq int, prev string, ev manifest.CustodyEvent, s Signer) ([]byte, *manifest.CustodyEntry, error) {
	if !slices.Contains(manifest.CustodyActions, ev.Action) {
		return nil, nil, fmt.Errorf("custody: unknown action %q (one of %s)", ev.Action, strings.Join(manifest.CustodyActions, ", "))
	}
	if strings.TrimSpace(ev.Actor) == "" {
		return nil, nil, errors.New("custody: the actor is empty")
	}
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
	e := &manifest.CustodyEntry{Seq: seq, Time: manifest.FormatTime(t), Actor: ev.Actor, Host: ev.Host, Action: ev.Action, Details: ev.Details, Prev: prev}
	if s != nil {
		if s.PublicKey().Type() != ssh.KeyAlgoED25519 {
			return nil, nil, errors.New("custody: entries are signed with Ed25519 keys only")
		}
		e.Key = AuthorizedKey(s.PublicKey())
		body, err := manifest.Canonical(e)
		if err != nil {
			return nil, nil, err
		}
		sig, err := sshsig.Sign(bytes.NewReader(body), s, sshsig.HashSHA512, CustodyNamespace)
		if err != nil {
			return nil, nil, fmt.Errorf("custody: signing: %w", err)
		}
		e.Sig = base64.StdEncoding.EncodeToString(sig.Marshal())
	}
	line, err := manifest.Canonical(e)
	if err != nil {
		return nil, nil, err
	}
	return line, e, nil
}

// StartCustody creates the custody log at path (which must not exist) with
// the given events, the first bound to sums (the bundle's SHA256SUMS bytes).
// Entries are signed by s, or unsigned when s is nil.
func StartCustody(path string, sums []byte, s Signer, events ...manifest.CustodyEvent) error {
	if len(events) == 0 {
		return errors.New("custody: no event to start the log with")
	}
	var buf bytes.Buffer
	prev := sha256Hex(sums)
	for i, ev := range events {
		line, _, err := newEntry(i+1, prev, ev, s)
		if err != nil {
			return err
		}
		buf.Write(line)
		buf.WriteByte('\n')
		prev = sha256Hex(line)
	}
	return durable.WriteBytes(path, 0o644, durable.Create, buf.Bytes())
}

// ContinueCustody creates the custody log at path (which must not exist)
// holding prior, the bytes of an existing log (the one sealed inside an
// archive), so that later events can be appended beside the archive.
func ContinueCustody(path string, prior []byte) error {
	if _, err := lastEntry(prior); err != nil {
		return err
	}
	return durable.WriteBytes(path, 0o644, durable.Create, prior)
}

// AppendCustody appends ev to the custody log at path, chained to its last
// entry and signed by s (nil: unsigned). This is the API for every event
// after sealing (archived, uploaded, verified, transferred, received, note):
// it never touches a sealed byte. It returns the entry written.
func AppendCustody(path string, ev manifest.CustodyEvent, s Signer) (*manifest.CustodyEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("custody log: %w", err)
	}
	last, err := lastEntry(b)
	if err != nil {
		return nil, fmt.Errorf("custody log %s: %w", path, err)
	}
	if s == nil && last.signed {
		return nil, fmt.Errorf("custody log %s: its entries are signed, so an unsigned entry would break it: give the signing key (--sign-key)", path)
	}
	line, e, err := newEntry(last.seq+1, sha256Hex(last.line), ev, s)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("custody log: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return nil, fmt.Errorf("custody log %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("custody log %s: %w", path, err)
	}
	return e, f.Close()
}

type lastLine struct {
	seq    int
	line   []byte
	signed bool
}

// lastEntry returns the last line of a log and its sequence number.
func lastEntry(b []byte) (lastLine, error) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return lastLine{}, errors.New("empty, or its last line is not complete")
	}
	body := b[:len(b)-1]
	line := body[bytes.LastIndexByte(body, '\n')+1:]
	var e manifest.CustodyEntry
	if err := json.Unmarshal(line, &e); err != nil {
		return lastLine{}, fmt.Errorf("last entry does not parse: %w", err)
	}
	if e.Seq < 1 {
		return lastLine{}, fmt.Errorf("last entry has seq %d", e.Seq)
	}
	return lastLine{seq: e.Seq, line: line, signed: e.Sig != ""}, nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// CustodyEntryCheck is one entry of a checked custody log.
type CustodyEntryCheck struct {
	manifest.CustodyEntry
	Fingerprint string `json:"fingerprint,omitempty"` // of Key
	Signed      bool   `json:"signed"`
	Valid       bool   `json:"valid"`   // chained and, when signed, the signature verifies
	Trusted     bool   `json:"trusted"` // signed by one of the trusted keys
	// Principals are who the trusted-keys line names for the key.
	Principals string `json:"principals,omitempty"`
	untrusted  string
}

// CustodyCheck is the outcome of checking a custody log.
type CustodyCheck struct {
	// Log names the file checked.
	Log     string              `json:"log"`
	Entries []CustodyEntryCheck `json:"entries"`
	// Problems name the failing entries (kind "custody").
	Problems []manifest.Problem `json:"problems,omitempty"`
}

// VerifyCustody checks a custody log: every line is the canonical JSON of
// an entry, seq counts from 1, the first entry's prev is the SHA-256 of sums
// and every other's the SHA-256 of the line before, and each signed entry's
// signature verifies against its key (trusted when that key is among
// trusted). name is the log's name for problems. inner, when not nil, is the
// log found inside the bundle: log (found beside the archive) must start
// with it byte for byte.
func VerifyCustody(name string, log, inner, sums []byte, trusted []ssh.PublicKey) *CustodyCheck {
	return verifyCustody(name, log, inner, sums, KeysTrust("--pubkey", trusted), time.Now())
}

// verifyCustody is VerifyCustody against trust anchors at time now. With
// anchors, an entry signed by a key they do not trust for namespace
// "evidence-custody" is a problem of kind untrusted. In any log, an
// unsigned entry after a signed one is a custody problem: once a log is
// signed, only a signed entry can extend it.
func verifyCustody(name string, log, inner, sums []byte, anchors *TrustedKeys, now time.Time) *CustodyCheck {
	c := &CustodyCheck{Log: name}
	bad := func(detail string) {
		c.Problems = append(c.Problems, manifest.Problem{Path: name, Kind: manifest.ProblemCustody, Detail: detail})
	}
	if inner != nil && !bytes.HasPrefix(log, inner) {
		bad("does not continue the custody log sealed in the bundle (" + manifest.CustodyLogName + "): an entry was changed, removed or reordered")
	}
	if len(log) == 0 {
		bad("empty")
		return c
	}
	if log[len(log)-1] != '\n' {
		bad("the last line is not complete")
	}
	prev := sha256Hex(sums)
	signedBefore := 0
	for i, line := range bytes.Split(bytes.TrimSuffix(log, []byte{'\n'}), []byte{'\n'}) {
		n := i + 1
		var e manifest.CustodyEntry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			bad(fmt.Sprintf("entry %d: does not parse: %v", n, err))
			return c
		}
		ec := CustodyEntryCheck{CustodyEntry: e, Valid: true}
		fail := func(why string) {
			ec.Valid = false
			bad(fmt.Sprintf("entry %d (%s by %s): %s", n, e.Action, e.Actor, why))
		}
		if canon, err := manifest.Canonical(e); err != nil || !bytes.Equal(canon, line) {
			fail("not in canonical form: the line was edited")
		}
		if e.Seq != n {
			fail(fmt.Sprintf("seq %d at line %d: entries were removed or reordered", e.Seq, n))
		}
		if e.Prev != prev {
			if n == 1 {
				fail("does not bind to this bundle's seal (prev is not the SHA-256 of SHA256SUMS)")
			} else {
				fail("prev is not the SHA-256 of the entry before: an entry was changed, removed or reordered")
			}
		}
		if t, err := time.Parse(time.RFC3339Nano, e.Time); err != nil || t.Location() != time.UTC {
			fail(fmt.Sprintf("time %q is not RFC 3339 UTC", e.Time))
		}
		if !slices.Contains(manifest.CustodyActions, e.Action) {
			fail(fmt.Sprintf("unknown action %q", e.Action))
		}
		switch {
		case e.Key == "" && e.Sig == "":
			if signedBefore > 0 {
				fail(fmt.Sprintf("unsigned, after %d signed entries: once a log is signed only a signed entry extends it (anyone can append an unsigned line)", signedBefore))
			}
		case e.Key == "" || e.Sig == "":
			fail("a key without a signature, or a signature without a key")
		default:
			ec.Signed = true
			signedBefore++
			if checkEntrySig(&ec, e, anchors, now, fail) && anchors.Len() > 0 && !ec.Trusted {
				c.Problems = append(c.Problems, manifest.Problem{Path: name, Kind: manifest.ProblemUntrusted,
					Detail: fmt.Sprintf("entry %d (%s by %s): signed by key %s, which is %s", n, e.Action, e.Actor, ec.Fingerprint, ec.untrusted)})
			}
		}
		c.Entries = append(c.Entries, ec)
		prev = sha256Hex(line)
	}
	return c
}

// checkEntrySig checks a signed entry's signature; it reports whether the
// signature verifies (then ec.Trusted says whether anchors trust the key).
func checkEntrySig(ec *CustodyEntryCheck, e manifest.CustodyEntry, anchors *TrustedKeys, now time.Time, fail func(string)) bool {
	key, err := parseKeyLine(e.Key)
	if err != nil {
		fail("key: " + err.Error())
		return false
	}
	ec.Fingerprint = Fingerprint(key)
	if key.Type() != ssh.KeyAlgoED25519 {
		fail("key type " + key.Type() + ", want " + ssh.KeyAlgoED25519)
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(e.Sig)
	if err != nil {
		fail("signature is not base64")
		return false
	}
	sig, err := sshsig.ParseSignature(raw)
	if err != nil {
		fail("signature does not parse: " + err.Error())
		return false
	}
	unsigned := e
	unsigned.Sig = ""
	body, err := manifest.Canonical(unsigned)
	if err != nil {
		fail(err.Error())
		return false
	}
	if err := sshsig.Verify(bytes.NewReader(body), sig, key, sig.HashAlgorithm, CustodyNamespace); err != nil {
		fail("signature does not verify: " + err.Error())
		return false
	}
	if k, ok, why := anchors.Lookup(key, CustodyNamespace, now); ok {
		ec.Trusted, ec.Principals = true, k.Principals
	} else {
		ec.untrusted = why
	}
	return true
}
