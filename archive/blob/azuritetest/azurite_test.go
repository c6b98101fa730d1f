package azuritetest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestUnavailable is run by TestSkipOrFail in a child process.
func TestUnavailable(t *testing.T) {
	if os.Getenv("AZURITE_HELPER_CHILD") == "" {
		t.Skip("run by TestSkipOrFail")
	}
	Start(t)
	t.Log("started")
}

// TestSkipOrFail: when Azurite cannot be started, a test skips with a
// message saying how to install it, unless CI is set: then it fails.
func TestSkipOrFail(t *testing.T) {
	run := func(ci string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnavailable$", "-test.v")
		env := []string{"AZURITE_HELPER_CHILD=1", "EVIDENCE_AZURITE=/nonexistent/azurite-blob"}
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "CI=") && !strings.HasPrefix(e, "EVIDENCE_AZURITE=") {
				env = append(env, e)
			}
		}
		if ci != "" {
			env = append(env, "CI="+ci)
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP: TestUnavailable") || !strings.Contains(out, "npm install --prefix .ci azurite@"+Version) {
		t.Errorf("without CI: err %v\n%s", err, out)
	}
	out, err = run("true")
	if err == nil || !strings.Contains(out, "--- FAIL: TestUnavailable") || !strings.Contains(out, "CI is set: not skipping") {
		t.Errorf("with CI=true: err %v\n%s", err, out)
	}
}

// TestStart: the real emulator answers on its endpoint.
func TestStart(t *testing.T) {
	s := Start(t)
	c := s.CreateContainer(t, "probe")
	if _, err := c.GetProperties(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
}
