package seal

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// TrustFlags are verify's flags about the seal, as the command line gives
// them: whom and which time-stamp authorities to trust.
type TrustFlags struct {
	TrustedKeys []string // allowed_signers files; default $EnvTrustedKeys
	Pubkeys     []string // public key files, trusted with TrustedKeys
	TSACAs      []string // PEM roots of the time-stamp authority
	RequireSig  bool
}

// Options reads the trusted keys and roots, before anything is verified.
// Its errors are the user's: they name the flag.
func (f TrustFlags) Options() (Options, error) {
	opts := Options{RequireSignature: f.RequireSig}
	anchors, err := LoadTrust(f.TrustedKeys, os.Getenv(EnvTrustedKeys), f.Pubkeys)
	if err != nil {
		return opts, err
	}
	if anchors == nil && f.RequireSig {
		return opts, fmt.Errorf("--require-signature: no trusted key to check the signature against (any key makes a valid signature): give --trusted-keys FILE, set %s, or give --pubkey", EnvTrustedKeys)
	}
	opts.Anchors = anchors
	for _, p := range f.TSACAs {
		certs, err := ReadCertificates(p)
		if err != nil {
			return opts, fmt.Errorf("--tsa-ca: %w", err)
		}
		opts.TSARoots = append(opts.TSARoots, certs...)
	}
	return opts, nil
}

// WriteText writes the signature, time-stamp and custody history for a
// person, as verify prints them.
func (r *Report) WriteText(w io.Writer) {
	if c := r.Signature; c != nil {
		switch {
		case c.Valid && c.Trusted:
			fmt.Fprintf(w, "   signature: valid, by trusted key %s (%s)\n", c.Fingerprint, c.Principals)
		case c.Valid && r.Trust == TrustSelfSigned:
			fmt.Fprintf(w, "   signature: SELF-SIGNED: valid, by key %s, which no trusted key vouches for (give --trusted-keys)\n", c.Fingerprint)
		case c.Valid:
			fmt.Fprintf(w, "   signature: UNTRUSTED: valid, by key %s, %s\n", c.Fingerprint, c.Untrusted)
		default:
			fmt.Fprintf(w, "   signature: INVALID (%s)\n", c.Error)
		}
	} else if r.Trust == TrustInvalid {
		fmt.Fprintln(w, "   signature: MISSING or not checkable (see the problems above)")
	} else {
		fmt.Fprintln(w, "   signature: none (UNSIGNED bundle)")
	}
	if c := r.Timestamp; c != nil {
		state := "valid"
		switch {
		case !c.Valid:
			state = "INVALID: " + c.Error
		case c.Trusted:
			state = "valid, authority trusted"
		default:
			state = "valid, authority not checked against a trusted root"
		}
		fmt.Fprintf(w, "   time-stamp: %s by %s: %s\n", c.Time, c.Authority, state)
	}
	if c := r.Custody; c != nil {
		fmt.Fprintf(w, "   custody (%s, %d entries):\n", c.Log, len(c.Entries))
		for _, e := range c.Entries {
			sig := "unsigned"
			switch {
			case e.Signed && e.Valid && e.Trusted:
				sig = "signed, trusted key"
			case e.Signed && e.Valid:
				sig = "signed by " + e.Fingerprint
			case !e.Valid:
				sig = "BROKEN"
			}
			fmt.Fprintf(w, "     %2d %s %-11s %s on %s [%s]%s\n", e.Seq, e.Time, e.Action, e.Actor, e.Host, sig, detailLine(e.Details))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "   note: "+n)
	}
}

func detailLine(d map[string]string) string {
	var parts []string
	for _, k := range []string{"to", "from", "note", "archive", "url", "sha256sums_sha256"} {
		if v, ok := d[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}
