package bundle

import "fmt"

// Flush writes every open file's buffered bytes to disk, so that the files
// written so far can be read back from Dir before sealing (the report page
// reads the records this way). Files stay open; hashes are unaffected.
func (s *Stage) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, f := range s.files {
		if f.closed {
			continue
		}
		if err := f.buf.Flush(); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}
