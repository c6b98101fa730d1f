// Package seal signs and time-stamps a bundle's SHA256SUMS, keeps its
// hash-chained custody log, and checks all three. It holds the signing and
// time-stamp crypto (SSHSIG over Ed25519 keys, RFC 3161) so that package
// manifest, which collection links for its accounting, stays standard
// library only.
package seal

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/evidence-dfir/evidence/manifest"
)

// Options says what Check trusts and requires.
type Options struct {
	// Trusted are the public keys a signature must be made by. Without any,
	// a signature is checked against the key it carries and reported as
	// valid but not trusted.
	Trusted []ssh.PublicKey
	// Anchors are trusted keys read from an allowed_signers file
	// (ReadTrustedKeys), with their namespaces and validity; they are
	// trusted together with Trusted.
	Anchors *TrustedKeys
	// Now is the time valid-after/valid-before are checked at; zero: the
	// current time, as ssh-keygen -Y verify does.
	Now time.Time
	// RequireSignature makes an unsigned bundle a failure.
	RequireSignature bool
	// TSARoots are trusted roots for the time-stamp authority, added to the
	// system's. When given, an untrusted authority is a failure.
	TSARoots []*x509.Certificate
	// CustodyLog and CustodyLogName are the custody log kept beside an
	// archive (see CustodyPathFor), nil when there is none.
	CustodyLog     []byte
	CustodyLogName string
	// CustodyLogExpected: the log beside the archive must exist (a local
	// archive, see BesideArchive); when CustodyLog is nil it was deleted or
	// not copied with the archive.
	CustodyLogExpected bool
}

// Report is what Check found beside the per-file checks.
type Report struct {
	Signature *SignatureCheck `json:"signature,omitempty"` // nil: unsigned
	Timestamp *TimestampCheck `json:"timestamp,omitempty"` // nil: none
	Custody   *CustodyCheck   `json:"custody,omitempty"`   // nil: no custody log
	// Trust says in one word who vouches for the bundle: TrustTrusted,
	// TrustUntrusted, TrustSelfSigned, TrustUnsigned or TrustInvalid.
	Trust string `json:"trust"`
	// TrustedKeys names where the trusted keys came from, when any were given.
	TrustedKeys string `json:"trusted_keys,omitempty"`
	// Notes are warnings that do not fail the verification (unsigned,
	// signature by a key nobody vouched for, authority not checked).
	Notes []string `json:"notes,omitempty"`
}

// The values of Report.Trust.
const (
	// TrustTrusted: the signature is valid and made by a trusted key.
	TrustTrusted = "trusted"
	// TrustUntrusted: the signature is valid but made by a key outside the
	// trusted keys given (a problem of kind untrusted).
	TrustUntrusted = "untrusted"
	// TrustSelfSigned: the signature is valid, but no trusted key was given:
	// it was checked only against the key it carries, which anyone who
	// re-sealed the bundle could have made.
	TrustSelfSigned = "self-signed"
	// TrustUnsigned: there is no signature.
	TrustUnsigned = "unsigned"
	// TrustInvalid: the signature does not verify, or is absent although
	// the manifest records one.
	TrustInvalid = "invalid"
)

// anchors joins Trusted and Anchors.
func (o Options) anchors() *TrustedKeys {
	t := &TrustedKeys{}
	t.Add(KeysTrust("--pubkey", o.Trusted))
	t.Add(o.Anchors)
	return t
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// Check checks what seals the bundle verified into res: the signature
// of SHA256SUMS, its time-stamp, and the custody log (inside the bundle, and
// beside the archive when opts gives it). Each failure is added to
// res.Problems, naming the file; res.OK() then reports the whole outcome.
// Nothing is checked when SHA256SUMS itself could not be read (res already
// reports it).
func Check(res *manifest.Result, opts Options) *Report {
	rep := &Report{}
	sums, ok := res.Seal[manifest.SumsName]
	if !ok {
		rep.Trust = TrustInvalid // nothing can be checked without SHA256SUMS
		return rep
	}
	add := res.AddProblem
	var info manifest.SealInfo
	if res.Manifest != nil && res.Manifest.Seal != nil {
		info = *res.Manifest.Seal
	}

	// Signature.
	anchors, now := opts.anchors(), opts.now()
	if anchors.Len() > 0 {
		rep.TrustedKeys = anchors.Source
	}
	switch sig, have := res.Seal[manifest.SigName]; {
	case have:
		c := checkSignature(sums, sig, SignatureNamespace, anchors, now)
		rep.Signature = &c
		mismatch := c.Valid && info.KeyFingerprint != "" && info.KeyFingerprint != c.Fingerprint
		switch {
		case !c.Valid:
			rep.Trust = TrustInvalid
			add(manifest.SigName, manifest.ProblemSignature, c.Error)
		case c.Trusted:
			rep.Trust = TrustTrusted
		case anchors.Len() > 0:
			rep.Trust = TrustUntrusted
			why := fmt.Sprintf("made by key %s, which is %s", c.Fingerprint, c.Untrusted)
			if mismatch {
				add(manifest.SigName, manifest.ProblemSignature, why)
			} else {
				add(manifest.SigName, manifest.ProblemUntrusted, why+": the files match SHA256SUMS, but someone you do not trust sealed them (re-sealed?)")
			}
		case opts.RequireSignature:
			rep.Trust = TrustSelfSigned
			add(manifest.SigName, manifest.ProblemUntrusted, fmt.Sprintf("a signature is required, but no trusted key was given to check the signing key %s against: anyone can make a valid signature", c.Fingerprint))
		default:
			rep.Trust = TrustSelfSigned
			rep.Notes = append(rep.Notes, fmt.Sprintf("SELF-SIGNED: the signature is valid but was checked only against the key it names (%s), which anyone who re-sealed the bundle could have made: give --trusted-keys to know who signed", c.Fingerprint))
		}
		if mismatch {
			rep.Trust = TrustInvalid
			add(manifest.SigName, manifest.ProblemSignature, fmt.Sprintf("made by key %s, manifest.json names %s", c.Fingerprint, info.KeyFingerprint))
		}
	case info.Signature != "":
		rep.Trust = TrustInvalid
		add(manifest.SigName, manifest.ProblemMissing, fmt.Sprintf("manifest.json records a signature by %s, the signature file is absent", info.KeyFingerprint))
	case opts.RequireSignature || anchors.Len() > 0:
		rep.Trust = TrustUnsigned
		add(manifest.SigName, manifest.ProblemMissing, "the bundle is unsigned and a signature is required")
	default:
		rep.Trust = TrustUnsigned
		rep.Notes = append(rep.Notes, "UNSIGNED: the hashes prove the files match SHA256SUMS, not who wrote SHA256SUMS")
	}

	// Time-stamp.
	switch tsr, have := res.Seal[manifest.TimestampName]; {
	case have:
		c := VerifyTimestamp(tsr, sums, opts.TSARoots)
		rep.Timestamp = &c
		switch {
		case !c.Valid:
			add(manifest.TimestampName, manifest.ProblemTimestamp, c.Error)
		case !c.Trusted && len(opts.TSARoots) > 0:
			add(manifest.TimestampName, manifest.ProblemTimestamp, "the authority's certificate is not trusted: "+c.ChainError)
		case !c.Trusted:
			rep.Notes = append(rep.Notes, fmt.Sprintf("the time-stamp (%s by %s) is valid, but its authority was not checked against a trusted root (%s): give --tsa-ca", c.Time, c.Authority, c.ChainError))
		}
	case info.Timestamp != "":
		add(manifest.TimestampName, manifest.ProblemMissing, "manifest.json records a time-stamp, the time-stamp file is absent")
	}

	// Custody.
	inner, haveInner := res.Seal[manifest.CustodyLogName]
	var declared bool
	if b, ok := res.Seal[manifest.CustodyName]; ok {
		var c manifest.Custody
		if json.Unmarshal(b, &c) == nil && c.CustodyLog != "" {
			declared = true
		}
	}
	declared = declared || info.CustodyLog != ""
	switch {
	case opts.CustodyLog != nil && len(opts.CustodyLog) == 0 && haveInner:
		add(opts.CustodyLogName, manifest.ProblemCustody, fmt.Sprintf("0 bytes: the custody log beside the archive is empty, as a full disk or an interrupted write or copy leaves it (its content is lost, not altered); the archive and the custody log sealed inside it (%d entries) verify, the events after archiving are not shown: restore the file from a copy, or remove it and run `evidence custody append`, which restarts it from the log inside", countLines(inner)))
		rep.Custody = verifyCustody(manifest.CustodyLogName, inner, nil, sums, anchors, now)
	case opts.CustodyLog == nil && opts.CustodyLogExpected && haveInner:
		add(opts.CustodyLogName, manifest.ProblemMissing, fmt.Sprintf("absent: every archive gets its custody log beside it when it is written (its archiving and every later event); it was deleted or not copied with the archive. The custody log sealed inside (%d entries) is checked below; copy %s with the archive", countLines(inner), opts.CustodyLogName))
		rep.Custody = verifyCustody(manifest.CustodyLogName, inner, nil, sums, anchors, now)
	case opts.CustodyLog != nil:
		var in []byte
		if haveInner {
			in = inner
		}
		rep.Custody = verifyCustody(opts.CustodyLogName, opts.CustodyLog, in, sums, anchors, now)
	case haveInner:
		rep.Custody = verifyCustody(manifest.CustodyLogName, inner, nil, sums, anchors, now)
	case declared:
		add(manifest.CustodyLogName, manifest.ProblemMissing, "custody.json and manifest.json record a custody log, it is absent")
	}
	if rep.Custody != nil {
		for _, p := range rep.Custody.Problems {
			add(p.Path, p.Kind, p.Detail)
		}
	}
	return rep
}

func countLines(b []byte) int { return bytes.Count(b, []byte{'\n'}) }
