package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/cobra"
)

// verifySealOptions are verify's flags about the seal: whom to trust.
type verifySealOptions struct {
	trustedKeys []string
	pubkeys     []string
	tsaCAs      []string
	requireSig  bool
}

func (o *verifySealOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&o.trustedKeys, "trusted-keys", nil, "trusted keys file in ssh-keygen's allowed_signers format (repeatable; default $"+seal.EnvTrustedKeys+"): the signature and signed custody entries must be by one of its keys")
	f.StringArrayVar(&o.pubkeys, "pubkey", nil, "trusted public key file (PREFIX.pub, an authorized_keys or allowed_signers file; repeatable), trusted with --trusted-keys")
	f.StringArrayVar(&o.tsaCAs, "tsa-ca", nil, "trusted root certificate(s) of the time-stamp authority, PEM (repeatable); added to the system's")
	f.BoolVar(&o.requireSig, "require-signature", false, "an unsigned bundle fails verification; needs trusted keys")
}

// options reads the trusted keys and roots, before anything is verified.
func (o *verifySealOptions) options() (seal.Options, error) {
	opts := seal.Options{RequireSignature: o.requireSig}
	anchors, err := seal.LoadTrust(o.trustedKeys, os.Getenv(seal.EnvTrustedKeys), o.pubkeys)
	if err != nil {
		return opts, usageErr("%v", err)
	}
	if anchors == nil && o.requireSig {
		return opts, usageErr("--require-signature: no trusted key to check the signature against (any key makes a valid signature): give --trusted-keys FILE, set %s, or give --pubkey", seal.EnvTrustedKeys)
	}
	opts.Anchors = anchors
	for _, f := range o.tsaCAs {
		certs, err := seal.ReadCertificates(f)
		if err != nil {
			return opts, usageErr("--tsa-ca: %v", err)
		}
		opts.TSARoots = append(opts.TSARoots, certs...)
	}
	return opts, nil
}

// check verifies the seal of the bundle at p, whose files res holds, with
// opts from options; local says p is a file on this machine (not a blob).
func (o *verifySealOptions) check(res *manifest.Result, p string, opts seal.Options, local bool) (*seal.Report, error) {
	if local {
		if err := opts.BesideArchive(p); err != nil {
			return nil, &exitError{code: ExitVerify, err: err}
		}
	}
	return seal.Check(res, opts), nil
}

// printSeal prints the signature, time-stamp and custody history.
func printSeal(a *app, r *seal.Report) {
	w := a.stdout
	if c := r.Signature; c != nil {
		switch {
		case c.Valid && c.Trusted:
			fmt.Fprintf(w, "   signature: valid, by trusted key %s (%s)\n", c.Fingerprint, c.Principals)
		case c.Valid && r.Trust == seal.TrustSelfSigned:
			fmt.Fprintf(w, "   signature: SELF-SIGNED: valid, by key %s, which no trusted key vouches for (give --trusted-keys)\n", c.Fingerprint)
		case c.Valid:
			fmt.Fprintf(w, "   signature: UNTRUSTED: valid, by key %s, %s\n", c.Fingerprint, c.Untrusted)
		default:
			fmt.Fprintf(w, "   signature: INVALID (%s)\n", c.Error)
		}
	} else if r.Trust == seal.TrustInvalid {
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
