package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
)

// attachment is a file given with --attach, checked before anything is written.
type attachment struct {
	path  string // as given
	name  string // base name
	size  int64
	mtime time.Time
}

// checkAttachments stats every --attach path: each must be a readable
// regular file, so a typo ends the run before a bundle is started.
func checkAttachments(paths []string) ([]attachment, error) {
	var out []attachment
	for _, p := range paths {
		if strings.TrimSpace(p) == "" {
			return nil, usageErr("--attach is empty")
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, usageErr("--attach %s: %v", p, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, usageErr("--attach %s: not a regular file", p)
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, usageErr("--attach %s: %v", p, err)
		}
		f.Close()
		out = append(out, attachment{path: p, name: filepath.Base(p), size: fi.Size(), mtime: fi.ModTime()})
	}
	return out, nil
}

// safeName makes a bundle file name from an original one: letters, digits,
// '.', '-' and '_' are kept, anything else becomes '_'; no leading dot; at
// most 100 bytes. The original name is kept in the manifest.
func safeName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_'):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), ".")
	if len(s) > 100 {
		ext := filepath.Ext(s)
		if len(ext) > 20 {
			ext = ""
		}
		s = s[:100-len(ext)] + ext
	}
	if s == "" {
		s = "file"
	}
	return s
}

// copyAttachments copies each file into attachments/NN-name, hashing while
// it copies, and refuses a file that changed between the check and the end
// of the copy (size or modification time), so the recorded hash is of the
// file as it was described.
func copyAttachments(stage *bundle.Stage, files []attachment) ([]manifest.Attachment, error) {
	var out []manifest.Attachment
	for i, a := range files {
		rel := fmt.Sprintf("attachments/%02d-%s", i+1, safeName(a.name))
		f, err := os.Open(a.path)
		if err != nil {
			return nil, fmt.Errorf("--attach %s: %w", a.path, err)
		}
		w, err := stage.Create(rel, "attachment", "application/octet-stream")
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("--attach %s: %w", a.path, err)
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--attach %s: copying: %w", a.path, err)
		}
		fi, err := os.Stat(a.path)
		if err != nil {
			return nil, fmt.Errorf("--attach %s: %w", a.path, err)
		}
		if n != a.size || fi.Size() != a.size || !fi.ModTime().Equal(a.mtime) {
			return nil, fmt.Errorf("--attach %s changed while it was copied (size %d, then %d bytes copied); copy it somewhere stable and retry", a.path, a.size, n)
		}
		out = append(out, manifest.Attachment{Path: rel, Kind: manifest.AttachmentFile, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)),
			OriginalName: a.name, ModTime: collect.FormatTime(a.mtime)})
	}
	return out, nil
}
