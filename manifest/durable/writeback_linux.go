//go:build linux

package durable

import (
	"os"

	"golang.org/x/sys/unix"
)

// StartWriteback asks the kernel to start writing bytes [off, off+n) of f
// to disk now, without waiting for them (sync_file_range(2) with
// SYNC_FILE_RANGE_WRITE), so that the fsync that makes a long file durable
// at its end finds little left to write. It is a hint: it guarantees
// nothing, and a failure is left to that fsync to report.
func StartWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
