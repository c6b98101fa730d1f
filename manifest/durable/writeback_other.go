//go:build !linux

package durable

import "os"

// StartWriteback is a hint that only Linux takes (sync_file_range(2)); here
// the fsync at the file's end writes it all.
func StartWriteback(f *os.File, off, n int64) {}
