package portal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// sniffSize is how much of a file Sniff looks at.
const sniffSize = 8 << 10

// NotDownloadError says that a file is not a portal download and what it
// looks like instead.
type NotDownloadError struct {
	Looks string // what the content looks like, e.g. "a ZIP archive"
}

func (e *NotDownloadError) Error() string {
	return "not an admin center download (a CSV or JSON of sign-in or audit logs): it looks like " + e.Looks
}

// magic are content signatures of files people confuse with a download.
var magic = []struct {
	prefix []byte
	looks  string
}{
	{[]byte("PK\x03\x04"), "a ZIP archive or an Excel workbook (.xlsx): download CSV, or unzip it and import the CSV files"},
	{[]byte("\x1f\x8b"), "a gzip file: decompress it first"},
	{[]byte("\x28\xb5\x2f\xfd"), "a zstd file (an evidence bundle?): verify it with evidence verify"},
	{[]byte("%PDF-"), "a PDF document"},
	{[]byte("\x89PNG"), "a PNG image"},
	{[]byte("\xff\xd8\xff"), "a JPEG image"},
	{[]byte("\x7fELF"), "a Linux program (ELF)"},
	{[]byte("MZ"), "a Windows program"},
	{[]byte("\xd0\xcf\x11\xe0"), "an old Office document (.xls): download CSV"},
	{[]byte("-----BEGIN OPENSSH"), "an OpenSSH private key"}, // the PEM header OpenSSH writes for its keys
	{[]byte("-----BEGIN "), "a PEM file (key or certificate)"},
	{[]byte("SQLite format 3\x00"), "an SQLite database"},
	{[]byte("\xff\xfe"), "UTF-16 text, which the admin center does not write: convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)"},
	{[]byte("\xfe\xff"), "UTF-16 text, which the admin center does not write: convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)"},
}

// Sniff looks at the first bytes of a file (head, up to 8 KiB) before it
// is imported and refuses, with a NotDownloadError saying what it looks like
// instead, content that cannot be an admin center download: binary data,
// a known non-log format (archive, workbook, image, program, key, HTML,
// XML), or text that is neither JSON nor a CSV header. It does not decide
// the kind of download: Read does.
func Sniff(head []byte) error {
	if len(bytes.TrimSpace(head)) == 0 {
		return &NotDownloadError{"an empty file"}
	}
	for _, m := range magic {
		if bytes.HasPrefix(head, m.prefix) {
			return &NotDownloadError{m.looks}
		}
	}
	if len(head) > 262 && bytes.Equal(head[257:262], []byte("ustar")) {
		return &NotDownloadError{"a tar archive: extract it first"}
	}
	text := bytes.TrimPrefix(head, []byte("\ufeff"))
	if looks := binary(text); looks != "" {
		return &NotDownloadError{looks}
	}
	trimmed := bytes.TrimLeft(text, " \t\r\n")
	lower := bytes.ToLower(trimmed[:min(len(trimmed), 64)])
	switch {
	case bytes.HasPrefix(lower, []byte("<!doctype html")), bytes.HasPrefix(lower, []byte("<html")):
		return &NotDownloadError{"an HTML page (a sign-in page or an error saved instead of the download?)"}
	case bytes.HasPrefix(lower, []byte("<?xml")), bytes.HasPrefix(lower, []byte("<")):
		return &NotDownloadError{"XML"}
	case trimmed[0] == '[' || trimmed[0] == '{':
		return nil // JSON: Read checks it record by record
	}
	first, _, _ := bytes.Cut(text, []byte("\n"))
	if !bytes.ContainsAny(first, ",;\t") {
		return &NotDownloadError{fmt.Sprintf("plain text whose first line (%q) is not a CSV header", clip(first))}
	}
	return nil
}

// binary says what text looks like when it is not text: "" for text.
func binary(b []byte) string {
	// The last rune may be cut by the 8 KiB window.
	check := b
	i := len(check) - 1
	for i > 0 && i > len(check)-utf8.UTFMax && !utf8.RuneStart(check[i]) {
		i--
	}
	if i >= 0 && !utf8.FullRune(check[i:]) {
		check = check[:i]
	}
	control := 0
	for _, c := range check {
		if c == 0 {
			return fmt.Sprintf("binary data (a NUL byte in the first %d bytes)", len(check))
		}
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			control++
		}
	}
	if control*100 > len(check) {
		return fmt.Sprintf("binary data (%d control bytes in the first %d)", control, len(check))
	}
	if !utf8.Valid(check) {
		return "binary data, or text that is not UTF-8"
	}
	return ""
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// SniffFile applies Sniff to the start of the file at path.
func SniffFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, sniffSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return err
	}
	return Sniff(head[:n])
}
