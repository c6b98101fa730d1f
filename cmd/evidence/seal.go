package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// EnvKeyPassword holds the passphrase of the signing key, for unattended runs.
const EnvKeyPassword = "EVIDENCE_KEY_PASSWORD"

// sealOptions are the flags that decide how a bundle is sealed beyond its
// hashes: signature, time-stamp, and the actor of custody entries.
type sealOptions struct {
	signKey    string
	tsa        string
	requireSig bool

	signer seal.Signer // loaded from signKey before collecting
}

func (a *app) sealFlags(f *pflag.FlagSet, o *sealOptions) {
	f.StringVar(&o.signKey, "sign-key", "", "sign SHA256SUMS and the custody log with this Ed25519 private key (evidence keygen); passphrase from "+EnvKeyPassword+" or a prompt")
	f.StringVar(&o.tsa, "tsa", "", "RFC 3161 time-stamp authority URL: stamps the SHA-256 of SHA256SUMS into SHA256SUMS.tsr")
	f.BoolVar(&o.requireSig, "require-signature", false, "refuse to write an unsigned bundle")
}

// loadSigner reads the signing key before anything is collected, so that a
// wrong passphrase costs seconds, not a collection.
func (a *app) loadSigner(o *sealOptions) error {
	switch {
	case o.signKey == "" && o.requireSig:
		return usageErr("--require-signature: no --sign-key given (create one with: evidence keygen --out PREFIX)")
	case o.signKey == "":
		fmt.Fprintln(a.stderr, "WARNING: no --sign-key: the bundle will be UNSIGNED; its hashes will prove it unchanged, not who sealed it")
		return nil
	case strings.HasPrefix(o.signKey, "azurekeyvault://"):
		return usageErr("--sign-key %s: Azure Key Vault holds no Ed25519 keys (only RSA and EC P-256/P-256K/P-384/P-521), and bundles are signed with Ed25519; see docs/verify.md", o.signKey)
	}
	s, err := seal.LoadSigningKey(o.signKey, readPassphrase(a, o.signKey))
	if err != nil {
		return usageErr("%v", err)
	}
	o.signer = s
	fmt.Fprintf(a.stderr, "Signing with key %s\n", seal.Fingerprint(s.PublicKey()))
	return nil
}

// readPassphrase returns the passphrase from the environment or, when
// stdin is a terminal, a prompt without echo.
func readPassphrase(a *app, keyPath string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if pw, ok := os.LookupEnv(EnvKeyPassword); ok {
			return []byte(pw), nil
		}
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return nil, fmt.Errorf("the key is encrypted: set %s or run in a terminal", EnvKeyPassword)
		}
		fmt.Fprintf(a.stderr, "Passphrase for %s: ", keyPath)
		pw, err := term.ReadPassword(fd)
		fmt.Fprintln(a.stderr)
		return pw, err
	}
}

// prepareSeal records in the manifest what will seal the bundle and writes
// custody.json; both are sealed with the rest.
func prepareSeal(stage *bundle.Stage, m *manifest.Manifest, o *sealOptions, sources []string) error {
	m.Seal = &manifest.SealInfo{Custody: manifest.CustodyName, CustodyLog: manifest.CustodyLogName}
	c := manifest.Custody{
		Format: manifest.CustodyFormat, CaseID: m.CaseID, Examiner: m.Examiner, Host: m.Host, OSUser: m.OSUser,
		Tool: m.Tool, Tenant: m.Tenant, Auth: m.Auth, CommandLine: m.CommandLine, Requested: m.Requested,
		Users: m.Users, Sources: sources, Started: m.CollectionStart, Ended: m.CollectionEnd,
		CustodyLog: manifest.CustodyLogName,
	}
	if o.signer != nil {
		pub := o.signer.PublicKey()
		m.Seal.Signature, m.Seal.SignatureFormat, m.Seal.Namespace = manifest.SigName, "sshsig", seal.SignatureNamespace
		m.Seal.KeyFingerprint, m.Seal.PublicKey = seal.Fingerprint(pub), seal.AuthorizedKey(pub)
		c.Signer = m.Seal.KeyFingerprint
	}
	if o.tsa != "" {
		m.Seal.Timestamp, m.Seal.TSA = manifest.TimestampName, o.tsa
	}
	b, err := manifest.Canonical(c)
	if err != nil {
		return err
	}
	w, err := stage.Create(manifest.CustodyName, "custody", bundle.MediaJSON)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// applySeal signs and time-stamps SHA256SUMS in the sealed directory dir
// and starts its custody log (collected, sealed), bound to SHA256SUMS.
func (a *app) applySeal(ctx context.Context, dir string, m *manifest.Manifest, o *sealOptions) error {
	sums, err := os.ReadFile(filepath.Join(dir, manifest.SumsName))
	if err != nil {
		return err
	}
	sealed := map[string]string{
		"sha256sums_sha256": sha256Hex(sums),
		"signature":         "none (unsigned)",
		"timestamp":         "none",
	}
	if mb, err := os.ReadFile(filepath.Join(dir, manifest.ManifestName)); err == nil {
		sealed["manifest_sha256"] = sha256Hex(mb)
	}
	sealed["files"] = strconv.Itoa(len(m.Files) + 1)
	if o.signer != nil {
		if err := seal.SignSums(dir, o.signer); err != nil {
			return err
		}
		sealed["signature"] = manifest.SigName + " by " + seal.Fingerprint(o.signer.PublicKey())
	}
	if o.tsa != "" {
		tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		tsr, err := seal.RequestTimestamp(tctx, &http.Client{Timeout: 60 * time.Second}, o.tsa, sums)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, manifest.TimestampName), tsr, 0o644); err != nil {
			return err
		}
		c := seal.VerifyTimestamp(tsr, sums, nil)
		sealed["timestamp"] = manifest.TimestampName + " " + c.Time + " by " + c.Authority
		fmt.Fprintf(a.stderr, "Time-stamped by %s at %s\n", c.Authority, c.Time)
	}
	var records int64
	var srcs []string
	for _, s := range m.Sources {
		records += s.Records
		srcs = append(srcs, fmt.Sprintf("%s %s %d records", s.Name, s.Status, s.Records))
	}
	var upns []string
	for _, u := range m.Users {
		upns = append(upns, u.UPN)
	}
	end, _ := time.Parse(time.RFC3339Nano, m.CollectionEnd)
	host := m.Host
	collected := manifest.CustodyEvent{Time: end, Actor: m.Examiner, Host: host, Action: manifest.ActionCollected, Details: map[string]string{
		"case_id": m.CaseID, "tenant": m.Tenant.Domain + " (" + m.Tenant.ID + ")", "window": m.Requested.Start + " to " + m.Requested.End,
		"users": strings.Join(upns, ", "), "sources": strings.Join(srcs, "; "), "records": strconv.FormatInt(records, 10),
		"complete": strconv.FormatBool(m.Complete),
	}}
	sealEv := manifest.CustodyEvent{Actor: m.Examiner, Host: host, Action: manifest.ActionSealed, Details: sealed}
	return seal.StartCustody(filepath.Join(dir, manifest.CustodyLogName), sums, o.signer, collected, sealEv)
}

// custodyArchived starts the custody log beside the archive (a copy of the
// one sealed inside) and records the archive's name, size and SHA-256.
func custodyArchived(dir, archivePath, archiveSHA string, m *manifest.Manifest, o *sealOptions) error {
	inner, err := os.ReadFile(filepath.Join(dir, manifest.CustodyLogName))
	if err != nil {
		return err
	}
	ext := manifest.CustodyPathFor(archivePath)
	if err := seal.ContinueCustody(ext, inner); err != nil {
		return err
	}
	fi, err := os.Stat(archivePath)
	if err != nil {
		return err
	}
	_, err = seal.AppendCustody(ext, manifest.CustodyEvent{Actor: m.Examiner, Host: m.Host, Action: manifest.ActionArchived, Details: map[string]string{
		"archive": filepath.Base(archivePath), "sha256": archiveSHA, "size": strconv.FormatInt(fi.Size(), 10),
	}}, o.signer)
	return err
}

// checkOwnSeal verifies the seal of the bundle just written against the key
// that signed it.
func checkOwnSeal(res *manifest.Result, bundlePath string, o *sealOptions) (*seal.Report, error) {
	opts := seal.Options{RequireSignature: o.signer != nil}
	if o.signer != nil {
		opts.Trusted = append(opts.Trusted, o.signer.PublicKey())
	}
	if strings.HasSuffix(bundlePath, manifest.ArchiveSuffix) {
		b, err := os.ReadFile(manifest.CustodyPathFor(bundlePath))
		if err != nil {
			return nil, err
		}
		opts.CustodyLog, opts.CustodyLogName = b, filepath.Base(manifest.CustodyPathFor(bundlePath))
	}
	return seal.Check(res, opts), nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// sourceList names the sources asked for, for custody.json.
func sourceList(o *grabOptions) []string { return append([]string(nil), o.sources...) }
