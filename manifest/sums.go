package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Sum is one line of a SHA256SUMS file: a bundle-relative path and the
// SHA-256 of that file as 64 lowercase hex digits.
type Sum struct {
	Path   string
	SHA256 string
}

// maxSumsLine bounds one line of a SHA256SUMS file (hash, separator, path).
const maxSumsLine = 64 << 10

// WriteSums writes sums in the format "sha256sum -c" reads: one line
// "<64 hex>  <path>\n" per file (two spaces), sorted by path in byte order.
// It refuses, writing nothing, any path that checkPath refuses (empty,
// absolute, "..", "." or empty components, a "./" prefix, backslashes,
// control characters such as newlines, invalid UTF-8), duplicate paths, and
// hashes that are not 64 lowercase hex digits.
func WriteSums(w io.Writer, sums []Sum) error {
	sorted := slices.Clone(sums)
	slices.SortFunc(sorted, func(a, b Sum) int { return strings.Compare(a.Path, b.Path) })
	var buf bytes.Buffer
	for i, s := range sorted {
		if err := checkPath(s.Path); err != nil {
			return fmt.Errorf("sums: path %q: %w", s.Path, err)
		}
		if i > 0 && sorted[i-1].Path == s.Path {
			return fmt.Errorf("sums: path %q: listed twice", s.Path)
		}
		if !isLowerHex64(s.SHA256) {
			return fmt.Errorf("sums: path %q: sha256 %q is not 64 lowercase hex digits", s.Path, s.SHA256)
		}
		buf.WriteString(s.SHA256)
		buf.WriteString("  ")
		buf.WriteString(s.Path)
		buf.WriteByte('\n')
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("sums: write: %w", err)
	}
	return nil
}

// ParseSums reads a SHA256SUMS file strictly: every line must be
// "<64 hex><space><space or '*'><path>" ending in '\n' (the last line may lack
// it), paths follow the rules of WriteSums, and no path may appear twice.
// Upper-case hex is accepted, as sha256sum accepts it, and returned in lower
// case. Blank lines, comments, CRLF line ends and the BSD "SHA256 (path) ="
// form are errors. Errors name the line number. The sums are returned in file
// order.
func ParseSums(r io.Reader) ([]Sum, error) {
	br := bufio.NewReaderSize(r, maxSumsLine)
	var sums []Sum
	seen := make(map[string]int)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("sums line %d: longer than %d bytes", n, maxSumsLine)
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("sums line %d: read: %w", n, err)
		}
		if len(line) == 0 && err == io.EOF {
			return sums, nil
		}
		s, perr := parseSumsLine(bytes.TrimSuffix(line, []byte{'\n'}))
		if perr != nil {
			return nil, fmt.Errorf("sums line %d: %w", n, perr)
		}
		if first, dup := seen[s.Path]; dup {
			return nil, fmt.Errorf("sums line %d: path %q already listed on line %d", n, s.Path, first)
		}
		seen[s.Path] = n
		sums = append(sums, s)
		if err == io.EOF {
			return sums, nil
		}
	}
}

func parseSumsLine(line []byte) (Sum, error) {
	if len(line) == 0 {
		return Sum{}, errors.New("empty line")
	}
	if len(line) < 64+2+1 {
		return Sum{}, errors.New(`not "<64 hex digits>  <path>"`)
	}
	hexPart := strings.ToLower(string(line[:64]))
	if !isLowerHex64(hexPart) {
		return Sum{}, fmt.Errorf("%q is not 64 hex digits", truncate(string(line[:64]), 64))
	}
	if line[64] != ' ' || (line[65] != ' ' && line[65] != '*') {
		return Sum{}, errors.New(`hash must be followed by two spaces (or " *") and the path`)
	}
	p := string(line[66:])
	if err := checkPath(p); err != nil {
		return Sum{}, fmt.Errorf("path %q: %w", truncate(p, 200), err)
	}
	return Sum{Path: p, SHA256: hexPart}, nil
}

// checkPath enforces the one spelling a bundle path may have: relative,
// '/'-separated, clean (no "", "." or ".." components, no "./" prefix, no
// trailing '/'), valid UTF-8 without control characters or backslashes. A
// path that passes reads the same in SHA256SUMS, in manifest.json and in a
// tar archive, so one file cannot be listed under two spellings.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case !utf8.ValidString(p):
		return errors.New("not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return errors.New("absolute path")
	case strings.ContainsRune(p, '\\'):
		return errors.New("contains a backslash")
	case strings.IndexFunc(p, isControl) >= 0:
		return errors.New("contains a control character")
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return errors.New("parent directory reference")
		}
	}
	if path.Clean(p) != p || p == "." {
		return errors.New("not in clean form (\"./\" prefix, \".\" or empty component, or trailing '/')")
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

func isLowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
