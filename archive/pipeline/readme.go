package pipeline

import (
	"fmt"
	"io"
	"strings"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/manifest"
)

// writeReadme writes README.txt of a bundle collected from Graph: what the bundle is and how to check it,
// with this tool or with stock tools only.
func writeReadme(stage *bundle.Stage, m *manifest.Manifest) error {
	w, err := stage.Create(manifest.ReadmeName, "", bundle.MediaText)
	if err != nil {
		return err
	}
	var users []string
	for _, u := range m.Users {
		users = append(users, u.UPN+" ("+u.ID+")")
	}
	if len(users) == 0 {
		users = []string{"all users of the tenant"}
	}
	state := "COMPLETE: every requested source and window was collected."
	if !m.Complete {
		state = "INCOMPLETE: some sources or windows could not be collected.\nmanifest.json says which, over which exact window, and why."
	}
	_, err = io.WriteString(w, fmt.Sprintf(`Evidence bundle
===============

Case:        %s
Tenant:      %s (%s)
Users:       %s
Window:      %s to %s (UTC, end exclusive)
Collected:   %s to %s (UTC) by %s on %s
Tool:        %s %s

%s

What is here
------------
report.html      start here: one page for people (open it in any browser, no
                 network needed): completeness, timeline, who and where.
manifest.json    who collected what, from where, when, with which queries, and
                 what is missing and why; every file with its size and SHA-256.
SHA256SUMS       the SHA-256 of every file, manifest.json included.
requests.jsonl   every request made to Microsoft Graph (time, URL, status,
                 request-id, attempt, response SHA-256), one JSON object a line.
*.jsonl          the records exactly as Microsoft Graph returned them, one a line.
*.csv            the same records as a table for people (UTF-8, UTC times).

How to check it has not changed
-------------------------------
With stock tools only (Linux, macOS with coreutils, WSL), inside this folder:

    sha256sum -c SHA256SUMS

Every line must say OK. A file that was changed, removed or replaced fails.
Files that were added are not listed in SHA256SUMS: compare the file list with
manifest.json ("files") and SHA256SUMS.

With evidence (checks hashes, signature, time-stamp, custody log and the
manifest's counts, and prints the custody history):

    evidence verify --pubkey COLLECTOR.pub <this folder or the .tar.zst archive>

%s`, m.CaseID, m.Tenant.Domain, m.Tenant.ID, strings.Join(users, ", "), m.Requested.Start, m.Requested.End,
		m.CollectionStart, m.CollectionEnd, m.Examiner, m.Host, m.Tool.Name, m.Tool.Version, state, sealSteps(m)))
	return err
}

// sealSteps explains, in plain words, how to check the signature, the
// time-stamp and the custody log with stock tools only.
func sealSteps(m *manifest.Manifest) string {
	var b strings.Builder
	s := m.Seal
	if s == nil {
		s = &manifest.SealInfo{}
	}
	if s.Signature != "" {
		fmt.Fprintf(&b, `Who sealed it: the signature
----------------------------
SHA256SUMS.sig is an OpenSSH signature of SHA256SUMS (which covers every
file) by the key with fingerprint
    %s
Get the collector's public key file (COLLECTOR.pub, one line starting with
"ssh-ed25519") from the collector through a channel you trust, not from
this bundle, and check that its fingerprint is the one above:

    ssh-keygen -l -f COLLECTOR.pub

Then, inside this folder (ssh-keygen comes with OpenSSH: Linux, macOS,
Windows 10 and later):

    echo "collector $(cat COLLECTOR.pub)" > allowed_signers
    ssh-keygen -Y verify -f allowed_signers -I collector -n evidence -s SHA256SUMS.sig < SHA256SUMS

It must print: Good "evidence" signature for collector with ED25519 key ...
`, s.KeyFingerprint)
	} else {
		b.WriteString(`This bundle is NOT SIGNED: its hashes prove it has not changed since they
were written, but not who wrote them. Keep the SHA-256 of the archive in
your case notes, or store the archive where it cannot be changed.
`)
	}
	if s.Timestamp != "" {
		fmt.Fprintf(&b, `
When it was sealed: the time-stamp
----------------------------------
SHA256SUMS.tsr is an RFC 3161 time-stamp of SHA256SUMS from the authority
%s. With the authority's root certificate (TSA-CA.pem, published by the
authority):

    openssl ts -reply -in SHA256SUMS.tsr -text
    openssl ts -verify -data SHA256SUMS -in SHA256SUMS.tsr -CAfile TSA-CA.pem

The second must print: Verification: OK
`, s.TSA)
	}
	if s.CustodyLog != "" {
		b.WriteString(`
Chain of custody
----------------
custody.json (sealed) says who collected what, where, when and how.
custody.log.jsonl lists what happened to the bundle, one JSON entry a line.
Events after sealing (archived, transferred, received, ...) are kept
beside the archive in NAME.custody.jsonl, which starts with the same
entries. Each entry's "prev" is the SHA-256 of the line before it; the
first entry's "prev" is the SHA-256 of SHA256SUMS:

    sha256sum SHA256SUMS                            # = prev of entry 1
    sed -n 1p custody.log.jsonl | tr -d '\n' | sha256sum   # = prev of entry 2

An edited, removed or reordered entry breaks that chain. "evidence verify"
also checks each entry's signature (namespace evidence-custody); see
docs/verify.md for doing that with ssh-keygen.
`)
	}
	return b.String()
}

// writeImportReadme explains an import bundle in plain words.
func writeImportReadme(stage *bundle.Stage, m *manifest.Manifest) error {
	w, err := stage.Create(manifest.ReadmeName, "", bundle.MediaText)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Evidence bundle (imported files)\n================================\n\nCase:      %s\nImported:  %s by %s on %s\nTool:      %s %s\n\n",
		m.CaseID, m.CollectionStart, m.Examiner, m.Host, m.Tool.Name, m.Tool.Version)
	b.WriteString("These files were downloaded by a person (e.g. from the Microsoft Entra admin\ncenter) and sealed here byte for byte, under imported/. manifest.json\n(\"imports\") records each file's original name, its SHA-256 when it was\nimported, who imported it and when, and what it holds:\n\n")
	for _, i := range m.Imports {
		recs := "unknown"
		if i.Records != nil {
			recs = fmt.Sprint(*i.Records)
		}
		fmt.Fprintf(&b, "  %s\n    %s, %s records, %s .. %s (UTC)\n", i.Path, i.Kind, recs, orDash(i.First), orDash(i.Last))
		if i.Scope != "" {
			fmt.Fprintf(&b, "    scope: %s\n", i.Scope)
		}
		if i.OutOfScope > 0 {
			fmt.Fprintf(&b, "    %d records outside that scope: split byte for byte into %s (the\n    subject's) and %s (the rest); the file above is unchanged\n", i.OutOfScope, i.SubjectPath, i.OutOfScopePath)
		}
		for _, w := range i.Warnings {
			fmt.Fprintf(&b, "    WARNING: %s\n", w)
		}
	}
	b.WriteString("\nHow to check it has not changed\n-------------------------------\nInside this folder:   sha256sum -c SHA256SUMS\nOr:                   evidence verify <this folder or the .tar.zst archive>\n\nThe hashes prove the files have not changed since they were imported; they\ncannot prove what happened to them before.\n\n")
	b.WriteString(sealSteps(m))
	_, err = io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
