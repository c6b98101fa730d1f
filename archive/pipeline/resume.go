package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/manifest/durable"
)

// A grab keeps its resume state in OUT/.NAME.resume/ beside the bundle
// being written: the command line and the collection start (grab.json),
// the partial bundle a fatal error sealed (partial.json, see partial.go),
// and the state of a source that keeps its own (the audit log query ids,
// how far their records were read, the spooled records). A grab that is killed or fails leaves it there;
// `evidence grab --resume OUT` runs the same command again with the same
// case id and collection start, re-using what was already done. A sealed
// bundle removes it.

// ResumeMeta is the resume directory's description of the run.
const ResumeMeta = "grab.json"

// Resume is grab.json.
type Resume struct {
	Args    []string `json:"args"`    // grab's arguments, without --resume
	Started string   `json:"started"` // collection start, RFC 3339 UTC
	CaseID  string   `json:"case_id"`
}

// ResumeDirFor is the resume directory of the bundle name inside out.
func ResumeDirFor(out, name string) string { return filepath.Join(out, "."+name+".resume") }

// SaveResume writes grab.json once (a resumed run keeps the original).
func SaveResume(dir string, args []string, started time.Time, caseID string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("resume state: %w", err)
	}
	p := filepath.Join(dir, ResumeMeta)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	b, err := json.MarshalIndent(Resume{Args: args, Started: started.UTC().Format(time.RFC3339Nano), CaseID: caseID}, "", " ")
	if err != nil {
		return err
	}
	return durable.WriteBytes(p, 0o600, durable.Create, b)
}

// LoadResume finds the resume directory given as --resume (dir itself, or
// the single .evidence-*.resume directory inside it) and reads its
// grab.json. Its errors are usage errors.
func LoadResume(given string) (dir string, r Resume, started time.Time, err error) {
	if dir, err = findResume(given); err != nil {
		return "", r, started, usageErr("%v", err)
	}
	p := filepath.Join(dir, ResumeMeta)
	b, err := os.ReadFile(p)
	if err != nil {
		return "", r, started, usageErr("--resume: %v", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "", r, started, usageErr("--resume: %s: %v", p, err)
	}
	if started, err = time.Parse(time.RFC3339Nano, r.Started); err != nil {
		return "", r, started, usageErr("--resume: %s: bad start time", p)
	}
	return dir, r, started, nil
}

func findResume(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, ResumeMeta)); err == nil {
		return dir, nil
	}
	found, _ := filepath.Glob(filepath.Join(dir, ".evidence-*.resume"))
	switch len(found) {
	case 0:
		return "", fmt.Errorf("--resume %s: no interrupted grab to resume there (no .evidence-*.resume directory)", dir)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("--resume %s: several interrupted grabs (%s); name one of them", dir, strings.Join(found, ", "))
}

// GrabArgs are the arguments to save for a resume: grab's own, without
// --resume, or nil when the command (args[1]) was not grab (demo).
func GrabArgs(args []string) []string {
	if len(args) < 2 || args[1] != "grab" {
		return nil
	}
	var out []string
	for i := 2; i < len(args); i++ {
		if args[i] == "--resume" {
			i++
			continue
		}
		if strings.HasPrefix(args[i], "--resume=") {
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// RemoveStalePartial removes the unsealed staging directory a killed run
// left behind, so the resumed run can write the same bundle name.
func RemoveStalePartial(out, name string) error {
	p := filepath.Join(out, "."+name+".partial")
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return os.RemoveAll(p)
}

// ResumeStarted reports whether dir holds anything to resume: a partial
// bundle sealed (partial.json) or a source's saved state.
func ResumeStarted(dir string) bool {
	for _, p := range []string{ResumePartial, filepath.Join("ual", "ual-state.json")} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return true
		}
	}
	return false
}
