package pipeline

import (
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/manifest"
)

// Header is the manifest header every bundle starts with: format, case,
// tool, who collects (the OS user when examiner is empty), on which host,
// the command line with secret values redacted, and the collection start.
func Header(caseID, examiner string, started time.Time, args []string, tool manifest.Tool) *manifest.Manifest {
	m := &manifest.Manifest{
		Format:          manifest.Format,
		CaseID:          caseID,
		Tool:            tool,
		Examiner:        examiner,
		Host:            Hostname(),
		OSUser:          OSUser(),
		CommandLine:     RedactArgs(args),
		CollectionStart: manifest.FormatTime(started),
	}
	if m.Examiner == "" {
		m.Examiner = m.OSUser
	}
	return m
}

// Hostname is this machine's name, "unknown" when it cannot be read.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// OSUser is the name of the user running the tool, "unknown" when it
// cannot be read.
func OSUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// secretFlags never reach the manifest with their values.
var secretFlags = []string{"--token", "--client-secret", "--password", "--sas"}

// RedactArgs removes the values of flags that can carry secrets.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		for _, f := range secretFlags {
			if out[i] == f && i+1 < len(out) {
				out[i+1] = "REDACTED"
			} else if strings.HasPrefix(out[i], f+"=") {
				out[i] = f + "=REDACTED"
			}
		}
	}
	return out
}
