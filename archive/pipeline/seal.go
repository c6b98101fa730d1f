package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/durable"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// prepareSeal records in the manifest what will seal the bundle and writes
// custody.json; both are sealed with the rest.
func prepareSeal(stage *bundle.Stage, m *manifest.Manifest, o Seal) error {
	m.Seal = &manifest.SealInfo{CustodyLog: manifest.CustodyLogName}
	sources := o.Sources
	if sources == nil {
		sources = []string{}
	}
	c := manifest.Custody{
		Format: manifest.CustodyFormat, CaseID: m.CaseID, Examiner: m.Examiner, Host: m.Host, OSUser: m.OSUser,
		Tool: m.Tool, Tenant: m.Tenant, Auth: m.Auth, CommandLine: m.CommandLine, Requested: m.Requested,
		Users: m.Users, Sources: sources, Started: m.CollectionStart, Ended: m.CollectionEnd,
		CustodyLog: manifest.CustodyLogName,
	}
	if o.Signer != nil {
		pub := o.Signer.PublicKey()
		m.Seal.Signature, m.Seal.KeyFingerprint = manifest.SigName, seal.Fingerprint(pub)
		c.Signer = m.Seal.KeyFingerprint
	}
	if o.TSA != "" {
		m.Seal.Timestamp, m.Seal.TSA = manifest.TimestampName, o.TSA
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
func applySeal(ctx context.Context, dir string, m *manifest.Manifest, o Seal, stderr io.Writer) error {
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
	if o.Signer != nil {
		if err := seal.SignSums(dir, o.Signer); err != nil {
			return err
		}
		sealed["signature"] = manifest.SigName + " by " + seal.Fingerprint(o.Signer.PublicKey())
		KillPoint(StepSigned)
	}
	if o.TSA != "" {
		tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		tsr, err := seal.RequestTimestamp(tctx, &http.Client{Timeout: 60 * time.Second}, o.TSA, sums)
		if err != nil {
			return err
		}
		if err := durable.WriteBytes(filepath.Join(dir, manifest.TimestampName), 0o644, durable.Create, tsr); err != nil {
			return err
		}
		c := seal.VerifyTimestamp(tsr, sums, nil)
		sealed["timestamp"] = manifest.TimestampName + " " + c.Time + " by " + c.Authority
		fmt.Fprintf(stderr, "Time-stamped by %s at %s\n", c.Authority, c.Time)
	}
	collected := manifest.CustodyEvent{Actor: m.Examiner, Host: m.Host, Action: manifest.ActionCollected, Details: collectedDetails(m)}
	collected.Time, _ = time.Parse(time.RFC3339Nano, m.CollectionEnd)
	sealEv := manifest.CustodyEvent{Actor: m.Examiner, Host: m.Host, Action: manifest.ActionSealed, Details: sealed}
	return seal.StartCustody(filepath.Join(dir, manifest.CustodyLogName), sums, o.Signer, collected, sealEv)
}

// collectedDetails describes the collection in the custody log's first
// entry: the case, tenant, window, users and per-source counts, or the
// imported files.
func collectedDetails(m *manifest.Manifest) map[string]string {
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
	d := map[string]string{
		"case_id": m.CaseID, "tenant": m.Tenant.Domain + " (" + m.Tenant.ID + ")", "window": m.Requested.Start + " to " + m.Requested.End,
		"users": strings.Join(upns, ", "), "sources": strings.Join(srcs, "; "), "records": strconv.FormatInt(records, 10),
		"complete": strconv.FormatBool(m.Complete),
	}
	if len(m.Imports) > 0 {
		var files []string
		for _, i := range m.Imports {
			files = append(files, i.OriginalName+" ("+i.Kind+", sha256 "+i.SHA256+")")
			if i.Records != nil {
				records += *i.Records
			}
		}
		d["imported"] = strings.Join(files, "; ")
		d["records"] = strconv.FormatInt(records, 10)
	}
	return d
}

// custodyArchived starts the custody log beside the archive (a copy of the
// one sealed inside) and records the archive's name, size and SHA-256.
func custodyArchived(dir, archivePath, archiveSHA string, m *manifest.Manifest, signer seal.Signer) error {
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
	}}, signer)
	return err
}

// CheckOwnSeal verifies the seal of a bundle just written, at bundlePath
// (an archive or a directory), against the key that signed it (nil:
// unsigned). Problems are added to res.
func CheckOwnSeal(res *manifest.Result, bundlePath string, signer seal.Signer) (*seal.Report, error) {
	opts := seal.Options{RequireSignature: signer != nil}
	if signer != nil {
		opts.Trusted = append(opts.Trusted, signer.PublicKey())
	}
	if err := opts.BesideArchive(bundlePath); err != nil {
		return nil, err
	}
	return seal.Check(res, opts), nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
