// Package archive packs a sealed bundle directory into a deterministic
// .tar.zst file, and reads such archives back without trusting them: every
// entry is checked before anything is done with it, and nothing is written
// to disk unless Extract is asked to.
package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
	"github.com/klauspost/compress/zstd"
)

// Options tunes the zstd compression of WriteTarZstOptions. The archive is
// reproducible for the same Options, input and zstd library version.
type Options struct {
	// Level is the zstd encoder level; zero means DefaultLevel.
	Level zstd.EncoderLevel
	// Concurrency is the number of zstd encoders; zero means
	// DefaultConcurrency. It changes the speed, not the bytes.
	Concurrency int
	// Verifier, when set, is fed every file's bytes as they are archived
	// (hashed on a goroutine of its own, overlapping the compression), so
	// that the directory is checked in the same read that archives it. It
	// changes nothing in the archive.
	Verifier *manifest.Verifier
	// Context, when set, is checked before each file: once it is
	// cancelled (Ctrl-C) the archive stops at that file boundary with its
	// error, instead of after the last file.
	Context context.Context
}

// The default zstd settings, chosen by measurement (BenchmarkArchiveVsZstdCLI,
// docs/performance.md): SpeedFastest keeps pace with `zstd -T0 -3` plus
// `sha256sum` on this kind of data with nearly the same ratio, where
// SpeedDefault is about half as fast for a 0.1-point smaller archive. Two
// encoders overlap compression with reading, tar and hashing on a 2-core
// machine. Fixed values, never derived from the machine, so that the same
// bundle gives the same archive everywhere.
const (
	DefaultLevel       = zstd.SpeedFastest
	DefaultConcurrency = 2
)

// copyBufSize is the buffer used to stream a file into the archive.
const copyBufSize = 256 << 10

// WriteTarZst writes to w a deterministic zstd-compressed tar archive of the
// bundle directory dir, with the default Options. See WriteTarZstOptions.
func WriteTarZst(w io.Writer, dir, prefix string, mtime time.Time) error {
	return WriteTarZstOptions(w, dir, prefix, mtime, Options{})
}

// WriteTarZstOptions writes to w a deterministic zstd-compressed tar archive
// of the bundle directory dir: the same files give the same bytes, whatever
// their on-disk times, owners or permissions.
//
// Every entry is named prefix + "/" + its '/'-separated path relative to
// dir. prefix must be a single, plain path component. A directory entry
// ("prefix/", then each subdirectory, names ending in '/', mode 0755) comes
// before its contents; files have mode 0644; entries are sorted by name in
// byte order; owner and group are 0 with empty names; every entry's ModTime
// is mtime in UTC truncated to the second (mtime must not be zero), with no
// access or change time. The USTAR format is used unless a name or size
// needs PAX. The zstd stream has a checksum.
//
// dir itself may be reached through a symlink, but a symlink or any other
// file that is neither regular nor a directory inside it is refused, as are
// names Walk would refuse. Files are streamed: memory does not grow with
// their size. A file whose size changes while it is archived is an error.
// On error, what was written to w is an incomplete archive to discard
// (write to a temporary file and rename it on success).
func WriteTarZstOptions(w io.Writer, dir, prefix string, mtime time.Time, opts Options) error {
	if why := checkPrefix(prefix); why != "" {
		return fmt.Errorf("archive prefix %q: %s", prefix, why)
	}
	if mtime.IsZero() {
		return errors.New("archive: mtime is zero")
	}
	mtime = mtime.UTC().Truncate(time.Second)
	if opts.Level == 0 {
		opts.Level = DefaultLevel
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = DefaultConcurrency
	}

	root, entries, err := listDir(dir)
	if err != nil {
		return err
	}

	enc, err := zstd.NewWriter(w,
		zstd.WithEncoderLevel(opts.Level),
		zstd.WithEncoderConcurrency(opts.Concurrency),
		zstd.WithEncoderCRC(true))
	if err != nil {
		return fmt.Errorf("archive: zstd: %w", err)
	}
	tw := tar.NewWriter(enc)
	buf := make([]byte, copyBufSize)
	var feed *hashFeed
	if opts.Verifier != nil {
		feed = newHashFeed()
	}

	hdr := func(name string, typ byte, mode, size int64) *tar.Header {
		return &tar.Header{Typeflag: typ, Name: name, Mode: mode, Size: size, ModTime: mtime}
	}
	if err := tw.WriteHeader(hdr(prefix+"/", tar.TypeDir, 0o755, 0)); err != nil {
		return fmt.Errorf("archive: %s/: %w", prefix, err)
	}
	for _, e := range entries {
		if opts.Context != nil && opts.Context.Err() != nil {
			return fmt.Errorf("archive: stopped before %s: %w", e.rel, context.Cause(opts.Context))
		}
		name := prefix + "/" + e.rel
		if e.dir {
			if err := tw.WriteHeader(hdr(name, tar.TypeDir, 0o755, 0)); err != nil {
				return fmt.Errorf("archive: %s: %w", name, err)
			}
			continue
		}
		if err := addFile(tw, filepath.Join(root, filepath.FromSlash(e.rel)), e.info, name, hdr, buf, opts.Verifier, feed, e.rel); err != nil {
			return fmt.Errorf("archive: %s: %w", e.rel, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archive: tar: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("archive: zstd: %w", err)
	}
	return nil
}

// addFile streams the regular file at p into tw as entry name, and into v
// as the bundle file rel when v is set.
func addFile(tw *tar.Writer, p string, walked fs.FileInfo, name string,
	hdr func(string, byte, int64, int64) *tar.Header, buf []byte, v *manifest.Verifier, feed *hashFeed, rel string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || !os.SameFile(walked, fi) {
		return errors.New("replaced while being archived")
	}
	size := fi.Size()
	if err := tw.WriteHeader(hdr(name, tar.TypeReg, 0o644, size)); err != nil {
		return err
	}
	if v != nil {
		// The file is read once for both: each chunk read is archived,
		// then hashed on another goroutine as the bundle file rel.
		n, fed, err := feedFile(v, rel, f, feed, tw)
		if fed || err != nil {
			return copied(n, size, err)
		}
		// A name v refused (and recorded): archived all the same.
	}
	// Hide ReadFrom/WriteTo so that buf is used.
	n, err := io.CopyBuffer(struct{ io.Writer }{tw}, struct{ io.Reader }{f}, buf)
	return copied(n, size, err)
}

func copied(n, size int64, err error) error {
	if errors.Is(err, tar.ErrWriteTooLong) || err == nil && n != size {
		return fmt.Errorf("changed while being archived (size was %d)", size)
	}
	return err
}

type dirEntry struct {
	rel  string // '/'-separated, relative to the root; directories end in '/'
	dir  bool
	info fs.FileInfo
}

// listDir lists the files and directories under dir, sorted by name in byte
// order (directories with their trailing '/'), refusing anything else.
func listDir(dir string) (string, []dirEntry, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", nil, fmt.Errorf("archive: %w", err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", nil, fmt.Errorf("archive: %w", err)
	}
	if !fi.IsDir() {
		return "", nil, fmt.Errorf("archive: %s is not a directory", dir)
	}
	var entries []dirEntry
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			rel += "/"
		}
		if why := checkName(rel); why != "" {
			return fmt.Errorf("refusing %q: %s", rel, why)
		}
		switch {
		case d.IsDir():
			entries = append(entries, dirEntry{rel: rel, dir: true})
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			entries = append(entries, dirEntry{rel: rel, info: info})
		default:
			return fmt.Errorf("refusing %s: %s; a bundle holds only regular files and directories", rel, describeMode(d.Type()))
		}
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("archive %s: %w", dir, err)
	}
	slices.SortFunc(entries, func(a, b dirEntry) int { return strings.Compare(a.rel, b.rel) })
	return root, entries, nil
}

// checkPrefix says why prefix cannot be the top-level directory, or "".
func checkPrefix(prefix string) string {
	switch {
	case strings.Contains(prefix, "/"):
		return "must be a single path component"
	case prefix == ".":
		return "must be a directory name"
	}
	return checkName(prefix)
}

func describeMode(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	case t&fs.ModeCharDevice != 0:
		return "character device"
	case t&fs.ModeDevice != 0:
		return "block device"
	case t&fs.ModeNamedPipe != 0:
		return "named pipe (fifo)"
	case t&fs.ModeSocket != 0:
		return "socket"
	default:
		return "irregular file (" + t.String() + ")"
	}
}
