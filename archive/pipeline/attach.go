package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
)

// Attachment is a file to copy into the bundle's attachments/, as checked
// before anything is written (CheckAttachments).
type Attachment struct {
	Path  string // as given
	Name  string // base name
	Size  int64
	MTime time.Time
}

// CheckAttachments stats every path: each must be a readable regular file,
// so a typo ends the run before a bundle is started. The error names the
// path and why, for a one-line usage error.
func CheckAttachments(paths []string) ([]Attachment, error) {
	var out []Attachment
	for _, p := range paths {
		if strings.TrimSpace(p) == "" {
			return nil, fmt.Errorf("--attach is empty")
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("--attach %s: %v", p, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("--attach %s: not a regular file", p)
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("--attach %s: %v", p, err)
		}
		f.Close()
		out = append(out, Attachment{Path: p, Name: filepath.Base(p), Size: fi.Size(), MTime: fi.ModTime()})
	}
	return out, nil
}

// Attachments is the collector of grab's attachments: the messages a
// source fetched (Before, listed first), then each file copied into
// attachments/NN-name, hashed while it is copied. A file that changed
// between the check and the end of the copy (size or modification time) is
// refused, so the recorded hash is of the file as it was described.
type Attachments struct {
	Files  []Attachment
	Before func() []manifest.Attachment
}

// Collect implements Collector.
func (c Attachments) Collect(_ context.Context, s *Session) error {
	var out []manifest.Attachment
	if c.Before != nil {
		out = append(out, c.Before()...)
	}
	for i, a := range c.Files {
		rel := fmt.Sprintf("attachments/%02d-%s", i+1, SafeName(a.Name))
		f, err := os.Open(a.Path)
		if err != nil {
			return fmt.Errorf("--attach %s: %w", a.Path, err)
		}
		w, err := s.Stage.Create(rel, "attachment", "application/octet-stream")
		if err != nil {
			f.Close()
			return fmt.Errorf("--attach %s: %w", a.Path, err)
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), f)
		f.Close()
		if err != nil {
			return fmt.Errorf("--attach %s: copying: %w", a.Path, err)
		}
		fi, err := os.Stat(a.Path)
		if err != nil {
			return fmt.Errorf("--attach %s: %w", a.Path, err)
		}
		if n != a.Size || fi.Size() != a.Size || !fi.ModTime().Equal(a.MTime) {
			return fmt.Errorf("--attach %s changed while it was copied (size %d, then %d bytes copied); copy it somewhere stable and retry", a.Path, a.Size, n)
		}
		out = append(out, manifest.Attachment{Path: rel, Kind: manifest.AttachmentFile, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)),
			OriginalName: a.Name, ModTime: collect.FormatTime(a.MTime)})
	}
	s.Manifest.Attachments = out
	return nil
}

// SafeName makes a bundle file name from an original one: letters, digits,
// '.', '-' and '_' are kept, anything else becomes '_'; no leading dot; at
// most 100 bytes. The original name is kept in the manifest.
func SafeName(name string) string {
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
