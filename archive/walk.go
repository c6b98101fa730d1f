package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// maxWindow bounds the zstd window a stream may ask for (128 MiB, what the
// zstd command accepts without --long), so that a hostile archive cannot
// make the decoder allocate more.
const maxWindow = 1 << 27

// UnsafeEntryError reports a tar entry that is refused: its name could
// escape or alias the top-level directory, or it is not a regular file or a
// directory.
type UnsafeEntryError struct {
	Name string // the entry's name as stored in the archive
	Why  string
}

// Error implements error: `unsafe tar entry "../x": parent directory reference`.
func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("unsafe tar entry %q: %s", e.Name, e.Why)
}

// Walk reads the zstd-compressed tar archive r and calls fn for each regular
// file, in archive order, with its name relative to the archive's top-level
// directory and a reader of its contents (valid until fn returns). Nothing
// is written to disk.
//
// Every entry must lie under one common top-level directory, and must be a
// regular file or a directory whose name is relative, '/'-separated and
// clean (no "..", "." or empty components), without backslash or NUL; no
// name may appear twice, and no entry may lie inside a file. The first entry
// that breaks a rule stops the walk with an *UnsafeEntryError. Directories
// are checked but not passed to fn.
//
// The archive must end properly: a tar end-of-archive marker, nothing but
// zero padding after it, and a zstd stream whose checksums match. A stream
// that is not zstd, or is corrupt or truncated, is an error saying so. An
// error returned by fn stops the walk and is returned, wrapped with the
// entry's name.
func Walk(r io.Reader, fn func(name string, r io.Reader) error) error {
	return walk(r, func(name string, isDir bool, r io.Reader) error {
		if isDir {
			return nil
		}
		return fn(name, r)
	})
}

// Extract writes the bundle held in the zstd-compressed tar archive r into
// dest, which is created if needed: the archive's top-level directory is
// stripped, so dest becomes the bundle's root. It applies the checks of
// Walk; files are created with mode 0644 and directories with 0755 (before
// umask), never outside dest (even through symlinks already in dest), and
// existing files are never overwritten. On error, what was extracted so far
// is left in place.
func Extract(r io.Reader, dest string) error {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer root.Close()
	return walk(r, func(name string, isDir bool, r io.Reader) error {
		if name == "" {
			return nil // the top-level directory: dest itself
		}
		if isDir {
			return root.MkdirAll(filepath.FromSlash(name), 0o755)
		}
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(filepath.FromSlash(d), 0o755); err != nil {
				return err
			}
		}
		f, err := root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

// walk is Walk, passing directories too (the top-level one as "").
func walk(r io.Reader, fn func(name string, isDir bool, r io.Reader) error) error {
	// One decoder goroutine: the stream is decoded in the caller's
	// goroutine, without the hand-offs between the default's goroutines
	// (fewer CPU seconds for the same wall time; docs/performance.md).
	zr, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(maxWindow), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return fmt.Errorf("zstd: %w", err)
	}
	defer zr.Close()
	src := &trackReader{r: zr}
	tr := tar.NewReader(src)

	var (
		top     string
		kinds   = make(map[string]byte) // name -> 'f' file, 'd' directory, 'i' implied directory
		dataEnd int64                   // offset in the tar stream where the last entry's data ends
	)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return streamError(src, err)
		}

		name, isDir, why := checkEntry(hdr)
		if why == "" {
			top, why = checkTop(top, name, isDir)
		}
		if why == "" {
			why = checkConflicts(kinds, name, isDir)
		}
		if why != "" {
			return &UnsafeEntryError{Name: hdr.Name, Why: why}
		}

		dataEnd = src.n // headers only: directories have no data
		if !isDir {
			dataEnd += padded(hdr.Size)
		}

		rel := strings.TrimPrefix(strings.TrimPrefix(name, top), "/")
		er := &entryReader{r: tr}
		if err := fn(rel, isDir, er); err != nil {
			if er.err != nil {
				return streamError(src, er.err)
			}
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}

	if src.n == 0 {
		return errors.New("empty: no tar archive in the stream")
	}
	// The end-of-archive marker: at least two zero blocks after the data.
	if src.n-dataEnd < 2*blockSize || src.zeroTail < src.n-dataEnd {
		return errors.New("truncated tar archive: no end-of-archive marker")
	}
	// Nothing but zero padding may follow, and the zstd stream must end
	// cleanly (its checksum is verified when its end is read).
	if _, err := io.Copy(zeroWriter{}, src); err != nil {
		if src.err != nil {
			return streamError(src, err)
		}
		return err
	}
	return nil
}

const blockSize = 512

// padded rounds size up to whole tar blocks.
func padded(size int64) int64 {
	if size <= 0 {
		return 0
	}
	return (size + blockSize - 1) / blockSize * blockSize
}

// streamError explains a failure to read the archive in one line.
func streamError(src *trackReader, err error) error {
	if src.err != nil {
		return fmt.Errorf("not a zstd-compressed archive, or corrupt or truncated: zstd: %w", src.err)
	}
	if err == io.ErrUnexpectedEOF {
		return fmt.Errorf("truncated tar archive: %w", err)
	}
	return fmt.Errorf("not a tar archive, or corrupt: %w", err)
}

// checkEntry checks one header's name and type; it returns the name without
// a directory's trailing '/' and why it is refused ("" if it is not).
func checkEntry(hdr *tar.Header) (name string, isDir bool, why string) {
	if why := checkName(hdr.Name); why != "" {
		return "", false, why
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
		if strings.HasSuffix(hdr.Name, "/") {
			return "", false, "regular file with a directory name (trailing '/')"
		}
		for k := range hdr.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return "", false, "sparse file"
			}
		}
		return hdr.Name, false, ""
	case tar.TypeDir:
		return strings.TrimSuffix(hdr.Name, "/"), true, ""
	case tar.TypeSymlink:
		return "", false, "symbolic link"
	case tar.TypeLink:
		return "", false, "hard link"
	case tar.TypeChar:
		return "", false, "character device"
	case tar.TypeBlock:
		return "", false, "block device"
	case tar.TypeFifo:
		return "", false, "fifo"
	case tar.TypeXGlobalHeader:
		return "", false, "pax global header"
	case tar.TypeGNUSparse:
		return "", false, "sparse file"
	default:
		return "", false, fmt.Sprintf("unsupported entry type %q", hdr.Typeflag)
	}
}

// checkName says why an entry name is unsafe, or "". One trailing '/'
// (a directory) is allowed.
func checkName(name string) string {
	switch {
	case name == "":
		return "empty name"
	case strings.ContainsRune(name, 0):
		return "contains a NUL byte"
	case strings.ContainsRune(name, '\\'):
		return "contains a backslash"
	case strings.HasPrefix(name, "/"):
		return "absolute path"
	case len(name) >= 2 && name[1] == ':' && ('a' <= name[0]|0x20 && name[0]|0x20 <= 'z'):
		return "absolute path (drive letter)"
	}
	n := strings.TrimSuffix(name, "/")
	for _, c := range strings.Split(n, "/") {
		if c == ".." {
			return "parent directory reference"
		}
	}
	if n == "" || n == "." || path.Clean(n) != n {
		return "not in clean form (\".\" or empty component)"
	}
	return ""
}

// checkTop checks that name lies under the top-level directory, which the
// first entry sets. It returns the top-level directory and why name is
// refused, or "".
func checkTop(top, name string, isDir bool) (string, string) {
	first, _, nested := strings.Cut(name, "/")
	if top == "" {
		top = first
	}
	switch {
	case first != top:
		return top, fmt.Sprintf("outside the top-level directory %q", top)
	case !nested && !isDir:
		return top, "a file at the top level; entries must be inside one top-level directory"
	}
	return top, ""
}

// checkConflicts records name and says why it is refused if it repeats an
// entry or lies inside a file.
func checkConflicts(kinds map[string]byte, name string, isDir bool) string {
	switch k, ok := kinds[name]; {
	case ok && k == 'i' && isDir:
		// A directory whose contents came first: fine.
	case ok && k == 'i':
		return "file name already used as a directory"
	case ok:
		return "duplicate entry"
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		switch kinds[name[:i]] {
		case 'f':
			return fmt.Sprintf("inside %q, which is a file", name[:i])
		case 0:
			kinds[name[:i]] = 'i'
		}
	}
	if isDir {
		kinds[name] = 'd'
	} else {
		kinds[name] = 'f'
	}
	return ""
}

// trackReader counts the bytes read, the zero bytes at their end, and keeps
// the first error other than io.EOF from the zstd decoder.
type trackReader struct {
	r        io.Reader
	n        int64
	zeroTail int64
	err      error
}

func (t *trackReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.n += int64(n)
	i := n
	for i > 0 && p[i-1] == 0 {
		i--
	}
	if i == 0 {
		t.zeroTail += int64(n)
	} else {
		t.zeroTail = int64(n - i)
	}
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// entryReader keeps the error of reading an entry, to tell a corrupt archive
// from an error of fn.
type entryReader struct {
	r   io.Reader
	err error
}

func (e *entryReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// zeroWriter accepts only zero bytes.
type zeroWriter struct{}

func (zeroWriter) Write(p []byte) (int, error) {
	for i, b := range p {
		if b != 0 {
			return i, errors.New("data after the tar end-of-archive marker")
		}
	}
	return len(p), nil
}
