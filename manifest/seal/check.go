// Package seal signs and time-stamps a bundle's SHA256SUMS, keeps its
// hash-chained custody log, and checks all three. It holds the signing and
// time-stamp crypto (SSHSIG over Ed25519 keys, RFC 3161) so that package
// manifest, which collection links for its accounting, stays standard
// library only.
package seal

import (
	"crypto/x509"
	"encoding/json"
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/evidence-dfir/evidence/manifest"
)

// Options says what Check trusts and requires.
type Options struct {
	// Trusted are the public keys a signature must be made by. Without any,
	// a signature is checked against the key it carries and reported as
	// valid but not trusted.
	Trusted []ssh.PublicKey
	// RequireSignature makes an unsigned bundle a failure.
	RequireSignature bool
	// TSARoots are trusted roots for the time-stamp authority, added to the
	// system's. When given, an untrusted authority is a failure.
	TSARoots []*x509.Certificate
	// CustodyLog and CustodyLogName are the custody log kept beside an
	// archive (see CustodyPathFor), nil when there is none.
	CustodyLog     []byte
	CustodyLogName string
}

// Report is what Check found beside the per-file checks.
type Report struct {
	Signature *SignatureCheck `json:"signature,omitempty"` // nil: unsigned
	Timestamp *TimestampCheck `json:"timestamp,omitempty"` // nil: none
	Custody   *CustodyCheck   `json:"custody,omitempty"`   // nil: no custody log
	// Notes are warnings that do not fail the verification (unsigned,
	// signature by a key nobody vouched for, authority not checked).
	Notes []string `json:"notes,omitempty"`
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
		return rep
	}
	add := res.AddProblem
	var info manifest.SealInfo
	if res.Manifest != nil && res.Manifest.Seal != nil {
		info = *res.Manifest.Seal
	}

	// Signature.
	switch sig, have := res.Seal[manifest.SigName]; {
	case have:
		c := VerifySignature(sums, sig, SignatureNamespace, opts.Trusted)
		rep.Signature = &c
		switch {
		case !c.Valid:
			add(manifest.SigName, manifest.ProblemSignature, c.Error)
		case len(opts.Trusted) > 0 && !c.Trusted:
			add(manifest.SigName, manifest.ProblemSignature, fmt.Sprintf("made by key %s, which is not one of the trusted keys given", c.Fingerprint))
		case len(opts.Trusted) == 0:
			rep.Notes = append(rep.Notes, fmt.Sprintf("the signature is valid but was checked only against the key it names (%s): give --pubkey to know who signed", c.Fingerprint))
		}
		if c.Valid && info.KeyFingerprint != "" && info.KeyFingerprint != c.Fingerprint {
			add(manifest.SigName, manifest.ProblemSignature, fmt.Sprintf("made by key %s, manifest.json names %s", c.Fingerprint, info.KeyFingerprint))
		}
	case info.Signature != "":
		add(manifest.SigName, manifest.ProblemMissing, fmt.Sprintf("manifest.json records a signature by %s, the signature file is absent", info.KeyFingerprint))
	case opts.RequireSignature:
		add(manifest.SigName, manifest.ProblemMissing, "the bundle is unsigned and a signature is required")
	default:
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
	case opts.CustodyLog != nil:
		var in []byte
		if haveInner {
			in = inner
		}
		rep.Custody = VerifyCustody(opts.CustodyLogName, opts.CustodyLog, in, sums, opts.Trusted)
	case haveInner:
		rep.Custody = VerifyCustody(manifest.CustodyLogName, inner, nil, sums, opts.Trusted)
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
