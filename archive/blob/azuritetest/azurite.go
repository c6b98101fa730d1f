// Package azuritetest starts the Azurite Blob storage emulator (the npm package
// azurite, installed by .ci/run into .ci/node_modules) for tests: a real
// storage service over real HTTP on a free loopback port, in memory.
//
// When Azurite cannot be started, a test is skipped with a message saying
// how to install it, unless the CI environment variable is set: then the
// test fails, so that CI never passes by skipping.
package azuritetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// Version is the Azurite release the tests are written against.
const Version = "3.37.0"

// Account is Azurite's well-known development account. Its key is public
// (published in the Azurite documentation); it still never appears in any
// output of evidence, which the tests check.
const (
	Account    = "devstoreaccount1"
	AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Server is a running Azurite blob service.
type Server struct {
	// Endpoint is the blob service URL, path-style:
	// http://127.0.0.1:PORT/devstoreaccount1
	Endpoint string
	cmd      *exec.Cmd
	stderr   *bytes.Buffer
	done     chan struct{}
	once     sync.Once
}

// ConnectionString is a storage connection string for the server.
func (s *Server) ConnectionString() string {
	return "DefaultEndpointsProtocol=http;AccountName=" + Account + ";AccountKey=" + AccountKey + ";BlobEndpoint=" + s.Endpoint + ";"
}

// ContainerURL is the URL of a container on the server.
func (s *Server) ContainerURL(name string) string { return s.Endpoint + "/" + name }

// CreateContainer creates a container with the account key.
func (s *Server) CreateContainer(t testing.TB, name string) *container.Client {
	t.Helper()
	c, err := container.NewClientFromConnectionString(s.ConnectionString(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), nil); err != nil {
		t.Fatalf("creating container %s: %v", name, err)
	}
	return c
}

// ContainerSAS signs a service SAS for the container with the account key,
// valid for an hour, with permissions from "racwli" (read, add, create,
// write, list, set immutability policy). It returns the query string without '?'.
func (s *Server) ContainerSAS(t testing.TB, name, perms string) string {
	t.Helper()
	cred, err := service.NewSharedKeyCredential(Account, AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	p := sas.ContainerPermissions{
		Read: strings.Contains(perms, "r"), Add: strings.Contains(perms, "a"), Create: strings.Contains(perms, "c"),
		Write: strings.Contains(perms, "w"), List: strings.Contains(perms, "l"), SetImmutabilityPolicy: strings.Contains(perms, "i"),
	}
	q, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().Add(-time.Hour).UTC(),
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   p.String(),
		ContainerName: name,
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return q.Encode()
}

// Stop ends the emulator process (the one Start began, by its pid).
func (s *Server) Stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
}

// Start starts Azurite for the test and stops it when the test ends. It
// skips the test when Azurite is unavailable and CI is unset, and fails it
// when CI is set.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start()
	if err != nil {
		msg := fmt.Sprintf("Azurite %s is needed for this test and could not be started: %v. Install it with `npm install --prefix .ci azurite@%s` (or run .ci/run), or set EVIDENCE_AZURITE to an azurite-blob executable", Version, err, Version)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: not skipping)")
		}
		t.Skip(msg)
	}
	t.Cleanup(s.Stop)
	return s
}

// Binary finds the azurite-blob executable: $EVIDENCE_AZURITE, then
// .ci/node_modules/.bin in the module root, then $PATH.
func Binary() (string, error) {
	if p := os.Getenv("EVIDENCE_AZURITE"); p != "" {
		return p, nil
	}
	if root, ok := moduleRoot(); ok {
		p := filepath.Join(root, ".ci", "node_modules", ".bin", "azurite-blob")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("azurite-blob")
	if err != nil {
		return "", errors.New("azurite-blob is neither in .ci/node_modules/.bin nor on PATH")
	}
	return p, nil
}

func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	var last error
	for range 3 { // a free port can be taken between choosing and binding it
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := launch(bin, port)
		if err == nil {
			return s, nil
		}
		last = err
	}
	return nil, last
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func launch(bin string, port int) (*Server, error) {
	cmd := exec.Command(bin, "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--skipApiVersionCheck", "--disableTelemetry", "--silent", "--loose")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d/%s", port, Account), cmd: cmd, stderr: &stderr, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return nil, fmt.Errorf("azurite-blob exited: %s", bytes.TrimSpace(stderr.Bytes()))
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return nil, errors.New("azurite-blob did not listen within 30 s")
}
