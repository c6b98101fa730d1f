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
report.html      start here: the incident brief for people (open it in any
                 browser, no network needed): verdict, findings and next
                 steps, indicators, key events, timeline, completeness.
manifest.json    who collected what, from where, when, with which queries, and
                 what is missing and why; every file with its size and SHA-256.
SHA256SUMS       the SHA-256 of every file, manifest.json included.
requests.jsonl   every request made to Microsoft Graph (time, URL, status,
                 request-id, attempt, response SHA-256), one JSON object a line.
*.jsonl          the records exactly as Microsoft Graph returned them, one a line.
*.csv            the same records as a table for people (UTF-8, UTC times).

%s

With evidence (checks hashes, signature, time-stamp, custody log and the
manifest's counts, and prints the custody history):

    evidence verify --pubkey COLLECTOR.pub <this folder or the .tar.zst archive>

%s%s`, m.CaseID, m.Tenant.Domain, m.Tenant.ID, strings.Join(users, ", "), m.Requested.Start, m.Requested.End,
		m.CollectionStart, m.CollectionEnd, m.Examiner, m.Host, m.Tool.Name, m.Tool.Version, state, checkSteps, sealSteps(m), japanese(m)))
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
also checks each entry's signature (namespace evidence-custody). By hand,
for entry 2 (sed, fold and ssh-keygen: Linux, macOS, WSL):

    line=$(sed -n 2p custody.log.jsonl)
    printf '%s' "$line" | sed 's/,"sig":"[^"]*"//' > entry
    { echo '-----BEGIN SSH SIGNATURE-----'
      printf '%s' "$line" | sed 's/.*"sig":"\([^"]*\)".*/\1/' | fold -w 70
      echo; echo '-----END SSH SIGNATURE-----'; } > entry.sig
    echo "actor $(printf '%s' "$line" | sed 's/.*"key":"\([^"]*\)".*/\1/')" > entry_signers
    ssh-keygen -Y verify -f entry_signers -I actor -n evidence-custody -s entry.sig < entry

and compare the key with the one the actor gave you. Write these files
outside this folder (or delete them afterwards): a file added to the
folder makes "evidence verify" report it as added.
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
	b.WriteString("\n" + checkSteps + "\n\nOr, with evidence:  evidence verify <this folder or the .tar.zst archive>\n\nThe hashes prove the files have not changed since they were imported; they\ncannot prove what happened to them before.\n\n")
	b.WriteString(sealSteps(m))
	b.WriteString(japanese(m))
	_, err = io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// checkSteps tells a recipient how to check every file against SHA256SUMS
// with the tools their system already has: sha256sum (Linux, WSL),
// shasum (macOS), PowerShell's Get-FileHash or certutil (Windows).
const checkSteps = `How to check it has not changed
-------------------------------
Every file is listed in SHA256SUMS with its SHA-256. Inside this folder,
with the tools your system already has:

Linux (or WSL):

    sha256sum -c SHA256SUMS

macOS (Terminal):

    shasum -a 256 -c SHA256SUMS

Windows (PowerShell, in this folder):

    Get-Content SHA256SUMS | ForEach-Object { $h, $f = $_ -split '  ', 2; if ((Get-FileHash -Algorithm SHA256 -LiteralPath $f).Hash -eq $h) { "OK      $f" } else { "FAILED  $f" } }

Windows (Command Prompt), one file at a time:

    certutil -hashfile manifest.json SHA256

Every line must say OK (certutil: the hash printed must be the one
SHA256SUMS lists for that file, compared without regard to case). A file
that was changed, removed or replaced fails. Files that were added are not
listed in SHA256SUMS: compare the file list with manifest.json ("files")
and SHA256SUMS.

The archive itself (NAME.tar.zst): compare its SHA-256 with the one in
your case notes, the upload receipt or the custody log:

    sha256sum NAME.tar.zst                          (Linux)
    shasum -a 256 NAME.tar.zst                      (macOS)
    Get-FileHash -Algorithm SHA256 NAME.tar.zst     (Windows PowerShell)
    certutil -hashfile NAME.tar.zst SHA256          (Windows)`

// japanese is the README's Japanese part: what the bundle is and how to
// check it with stock tools, for a recipient who reads Japanese.
func japanese(m *manifest.Manifest) string {
	state := "完全：要求したすべてのソースと期間を収集しました。"
	switch {
	case len(m.Imports) > 0 && len(m.Sources) == 0:
		state = "取り込み：人がダウンロードしたファイルを imported/ にそのまま封印しています。ダウンロード前の状態は証明できません。"
	case !m.Complete:
		state = "不完全：収集できなかったソースまたは期間があります。どの期間がなぜ欠けているかは manifest.json に記録されています。"
	}
	sig := "このバンドルには署名がありません。ハッシュは書き込み後に変更がないことを示しますが、誰が書いたかは示しません。\nアーカイブの SHA-256 をケース記録に残すか、変更できない場所に保管してください。"
	if m.Seal != nil && m.Seal.Signature != "" {
		sig = "SHA256SUMS.sig は SHA256SUMS（すべてのファイルを含む）に対する OpenSSH 署名です。\n収集者の公開鍵は、このバンドルではなく信頼できる経路で入手し、英語の節\n「Who sealed it: the signature」の手順（ssh-keygen -Y verify）で確認してください。"
	}
	return `

========================================================================
日本語
========================================================================

これは Microsoft 365 / Entra ID の証拠バンドルです。最初に report.html を
ブラウザーで開いてください（ネットワーク接続は不要です）。

` + state + `

改ざんされていないことの確認
----------------------------
すべてのファイルの SHA-256 が SHA256SUMS に記載されています。このフォルダー内で、
OS に標準で入っているツールだけで確認できます（コマンドは上の英語の節と同じです）。

Linux（または WSL）：

    sha256sum -c SHA256SUMS

macOS（ターミナル）：

    shasum -a 256 -c SHA256SUMS

Windows（PowerShell、このフォルダーで実行）：

    Get-Content SHA256SUMS | ForEach-Object { $h, $f = $_ -split '  ', 2; if ((Get-FileHash -Algorithm SHA256 -LiteralPath $f).Hash -eq $h) { "OK      $f" } else { "FAILED  $f" } }

Windows（コマンド プロンプト、1 ファイルずつ）：

    certutil -hashfile manifest.json SHA256

すべての行が OK になる必要があります（certutil の場合は、表示されたハッシュが
SHA256SUMS のその行と一致すること。大文字・小文字は区別しません）。変更・削除・
置き換えられたファイルは失敗します。追加されたファイルは SHA256SUMS に載らないため、
ファイル一覧を manifest.json の "files" および SHA256SUMS と比較してください。

アーカイブ（NAME.tar.zst）自体は、ケース記録・アップロードの受領記録・保管記録の
SHA-256 と比較してください：

    sha256sum NAME.tar.zst                          （Linux）
    shasum -a 256 NAME.tar.zst                      （macOS）
    Get-FileHash -Algorithm SHA256 NAME.tar.zst     （Windows PowerShell）
    certutil -hashfile NAME.tar.zst SHA256          （Windows）

` + sig + `
`
}
