package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/manifest"
)

// writeReadme writes README.txt: what the bundle is and how to check it,
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

With evidence:

    evidence verify <this folder or the .tar.zst archive>

This bundle is not signed: its hashes prove it has not changed since they were
written, but not who wrote them. Keep the SHA-256 of the archive in your case
notes, or store the archive where it cannot be changed.
`, m.CaseID, m.Tenant.Domain, m.Tenant.ID, strings.Join(users, ", "), m.Requested.Start, m.Requested.End,
		m.CollectionStart, m.CollectionEnd, m.Examiner, m.Host, m.Tool.Name, m.Tool.Version, state))
	return err
}
