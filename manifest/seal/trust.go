package seal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/evidence-dfir/evidence/manifest"
)

// EnvTrustedKeys names the environment variable holding the path of a
// trusted-keys file, used when no --trusted-keys is given.
const EnvTrustedKeys = "EVIDENCE_TRUSTED_KEYS"

// TrustedKey is one line of a trusted-keys file: the public key, the
// principals it stands for and the restrictions ssh-keygen applies to it.
type TrustedKey struct {
	// Principals is the line's first field as written (comma-separated
	// names or patterns): who the key belongs to.
	Principals string
	Key        ssh.PublicKey
	// Namespaces limits the signature namespaces the key is trusted for
	// (option namespaces="..."); empty: every namespace.
	Namespaces []string
	// ValidAfter and ValidBefore bound when the key is trusted (options
	// valid-after= and valid-before=); zero: unbounded.
	ValidAfter, ValidBefore time.Time
	// Line is the line number in the file, for messages.
	Line int
}

// TrustedKeys are the trust anchors of a verification: the keys whose
// signatures make a bundle (namespace "evidence") or a custody entry
// (namespace "evidence-custody") trusted. The zero value trusts nothing.
type TrustedKeys struct {
	// Source says where the keys came from (file names), for messages.
	Source string
	Keys   []TrustedKey
}

// Len reports how many keys t holds (0 for nil).
func (t *TrustedKeys) Len() int {
	if t == nil {
		return 0
	}
	return len(t.Keys)
}

// Add appends the keys of o to t and joins their sources.
func (t *TrustedKeys) Add(o *TrustedKeys) {
	if o == nil || len(o.Keys) == 0 {
		return
	}
	t.Keys = append(t.Keys, o.Keys...)
	if t.Source == "" {
		t.Source = o.Source
	} else if o.Source != "" {
		t.Source += ", " + o.Source
	}
}

// Lookup returns the line trusting key for signatures in namespace at time
// at, as ssh-keygen -Y verify decides it (principal aside: evidence trusts
// any principal of the file and names it). ok is false when no line does;
// why then says whether the key is absent or excluded by an option.
func (t *TrustedKeys) Lookup(key ssh.PublicKey, namespace string, at time.Time) (k TrustedKey, ok bool, why string) {
	why = "not one of the trusted keys"
	if t == nil {
		return TrustedKey{}, false, why
	}
	if t.Source != "" {
		why = "not one of the trusted keys (" + t.Source + ")"
	}
	blob := key.Marshal()
	for _, c := range t.Keys {
		if !bytes.Equal(c.Key.Marshal(), blob) {
			continue
		}
		switch {
		case len(c.Namespaces) > 0 && !matchAny(c.Namespaces, namespace):
			why = fmt.Sprintf("trusted by line %d only for namespaces %s, not %q", c.Line, strings.Join(c.Namespaces, ","), namespace)
		case !c.ValidAfter.IsZero() && at.Before(c.ValidAfter):
			why = fmt.Sprintf("trusted by line %d only from %s", c.Line, c.ValidAfter.UTC().Format(time.RFC3339))
		case !c.ValidBefore.IsZero() && !at.Before(c.ValidBefore):
			why = fmt.Sprintf("trusted by line %d only until %s", c.Line, c.ValidBefore.UTC().Format(time.RFC3339))
		default:
			return c, true, ""
		}
	}
	return TrustedKey{}, false, why
}

// matchAny reports whether s matches one of the patterns (wildcards * and
// ?, as ssh-keygen matches namespaces; path.Match, whose extra [ ] and \
// syntax no namespace uses).
func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

// KeysTrust makes trust anchors of bare public keys (--pubkey): trusted for
// every namespace, at any time.
func KeysTrust(source string, keys []ssh.PublicKey) *TrustedKeys {
	if len(keys) == 0 {
		return nil
	}
	t := &TrustedKeys{Source: source}
	for i, k := range keys {
		t.Keys = append(t.Keys, TrustedKey{Principals: source, Key: k, Line: i + 1})
	}
	return t
}

// ParseAllowedSigners reads a trusted-keys file in the allowed_signers
// format of ssh-keygen(1) (section ALLOWED SIGNERS): one key per line,
// "principals [options] keytype base64-key [comment]"; blank lines and lines
// starting with '#' are skipped. Options: namespaces="list" and
// valid-after="time"/valid-before="time" (YYYYMMDD[Z] or
// YYYYMMDDHHMM[SS][Z], local time unless Z) are applied as ssh-keygen
// applies them; cert-authority is refused, since bundles are signed by
// plain keys, not certificates. At least one key is required. Errors name
// the line.
func ParseAllowedSigners(b []byte, source string) (*TrustedKeys, error) {
	t := &TrustedKeys{Source: source}
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseSignerLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", source, n+1, err)
		}
		k.Line = n + 1
		t.Keys = append(t.Keys, k)
	}
	if len(t.Keys) == 0 {
		return nil, fmt.Errorf("%s: no trusted key (want allowed_signers lines: \"principal ssh-ed25519 AAAA...\")", source)
	}
	return t, nil
}

// ReadTrustedKeys reads trusted-keys files (see ParseAllowedSigners).
func ReadTrustedKeys(paths ...string) (*TrustedKeys, error) {
	all := &TrustedKeys{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		t, err := ParseAllowedSigners(b, p)
		if err != nil {
			return nil, err
		}
		all.Add(t)
	}
	return all, nil
}

// parseSignerLine parses one allowed_signers line.
func parseSignerLine(line string) (TrustedKey, error) {
	principals, rest := nextField(line)
	if principals == "" || isKeyType(principals) {
		return TrustedKey{}, errors.New("no principal before the key (an allowed_signers line is \"principal [options] ssh-ed25519 AAAA...\")")
	}
	var k TrustedKey
	k.Principals = principals
	f, after := nextField(rest)
	if !isKeyType(f) {
		// f is the options field.
		if err := k.applyOptions(f); err != nil {
			return TrustedKey{}, err
		}
		f, after = nextField(after)
	}
	keyData, _ := nextField(after)
	key, err := parseKeyLine(f + " " + keyData)
	if err != nil {
		return TrustedKey{}, err
	}
	k.Key = key
	return k, nil
}

// nextField splits s at its first run of blanks outside double quotes.
func nextField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " \t")
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case (c == ' ' || c == '\t') && !quoted:
			return s[:i], strings.TrimLeft(s[i:], " \t")
		}
	}
	return s, ""
}

func isKeyType(f string) bool {
	return strings.HasPrefix(f, "ssh-") || strings.HasPrefix(f, "ecdsa-") || strings.HasPrefix(f, "sk-")
}

// applyOptions reads a comma-separated option list (commas inside quotes
// belong to the value).
func (k *TrustedKey) applyOptions(opts string) error {
	var parts []string
	quoted, start := false, 0
	for i := 0; i < len(opts); i++ {
		switch opts[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				parts = append(parts, opts[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, opts[start:])
	for _, o := range parts {
		name, val, hasVal := strings.Cut(o, "=")
		val = strings.Trim(val, `"`)
		switch strings.ToLower(name) {
		case "cert-authority":
			return errors.New("cert-authority: evidence checks signatures by plain keys, not SSH certificates; list the signing keys themselves")
		case "namespaces":
			if !hasVal {
				return errors.New("namespaces without a value")
			}
			k.Namespaces = strings.Split(val, ",")
		case "valid-after", "valid-before":
			t, err := parseSignerTime(val)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if strings.ToLower(name) == "valid-after" {
				k.ValidAfter = t
			} else {
				k.ValidBefore = t
			}
		default:
			return fmt.Errorf("unknown option %q (allowed_signers options: namespaces, valid-after, valid-before)", name)
		}
	}
	return nil
}

// parseSignerTime reads ssh-keygen's YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z].
func parseSignerTime(s string) (time.Time, error) {
	loc := time.Local
	if v, ok := strings.CutSuffix(s, "Z"); ok {
		s, loc = v, time.UTC
	}
	var layout string
	switch len(s) {
	case 8:
		layout = "20060102"
	case 12:
		layout = "200601021504"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}, fmt.Errorf("%q: want YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]", s)
	}
	return time.ParseInLocation(layout, s, loc)
}

// LoadTrust reads the trust anchors of a command: the allowed_signers files
// given with --trusted-keys or, when there is none, the one named by env
// (the value of EVIDENCE_TRUSTED_KEYS; empty: none), plus the bare public
// keys of --pubkey files. Each error is one line naming the flag or the
// variable and the file. It returns nil when nothing was given.
func LoadTrust(files []string, env string, pubkeys []string) (*TrustedKeys, error) {
	flag := "--trusted-keys"
	if len(files) == 0 && env != "" {
		files, flag = []string{env}, EnvTrustedKeys
	}
	t := &TrustedKeys{}
	for _, f := range files {
		k, err := ReadTrustedKeys(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		t.Add(k)
	}
	if len(pubkeys) > 0 {
		keys, err := ReadPublicKeys(pubkeys...)
		if err != nil {
			return nil, fmt.Errorf("--pubkey: %w", err)
		}
		t.Add(KeysTrust(strings.Join(pubkeys, ", "), keys))
	}
	if t.Len() == 0 {
		return nil, nil
	}
	return t, nil
}

// BesideArchive loads into o the custody log kept beside the local archive
// at archivePath (NAME.custody.jsonl), which every archive evidence writes
// gets at once: Check then reports it absent or empty. It does nothing for a
// path that is not a .tar.zst archive. The error is non-nil only when the
// file exists but cannot be read.
func (o *Options) BesideArchive(archivePath string) error {
	if !strings.HasSuffix(archivePath, manifest.ArchiveSuffix) {
		return nil
	}
	cp := manifest.CustodyPathFor(archivePath)
	o.CustodyLogName, o.CustodyLogExpected = filepath.Base(cp), true
	b, err := os.ReadFile(cp)
	switch {
	case err == nil:
		if b == nil {
			b = []byte{}
		}
		o.CustodyLog = b
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("custody log %s: %w", cp, err)
	}
	return nil
}

// CheckSigner refuses, before anything is collected, to seal with a key the
// trust anchors (files, or env as in LoadTrust) do not trust for namespace:
// what it signed would fail verify with the same trusted keys. Without
// trusted keys, or without a signer, it passes.
func CheckSigner(files []string, env string, s Signer, namespace string) error {
	if s == nil {
		return nil
	}
	t, err := LoadTrust(files, env, nil)
	if err != nil || t == nil {
		return err
	}
	if _, ok, why := t.Lookup(s.PublicKey(), namespace, time.Now()); !ok {
		return fmt.Errorf("--sign-key: key %s is %s: what it signs would fail verify with them (exit 5); add it to the file or sign with a trusted key", Fingerprint(s.PublicKey()), why)
	}
	return nil
}

// CheckSums checks the signature of a bundle's SHA256SUMS (SHA256SUMS.sig,
// namespace "evidence") against trust anchors at time now, as Check does.
func CheckSums(sums, armored []byte, anchors *TrustedKeys, now time.Time) SignatureCheck {
	return checkSignature(sums, armored, SignatureNamespace, anchors, now)
}
