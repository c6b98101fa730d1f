package workspace

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/uuid"
)

// Checked checks the options a command line gave (the workspace id, the
// tables, the endpoint) before any request, and completes them: the token
// audience of a non-default endpoint, and with caFile (a PEM file, "" for
// none) a transport that trusts that CA besides the system's, for a
// TLS-inspecting proxy or the simulator. Errors name the flag.
func (o Options) Checked(caFile string) (Options, error) {
	if o.WorkspaceID == "" {
		return o, fmt.Errorf("--sources workspace needs --workspace WORKSPACE_ID (the workspace's id, a GUID)")
	}
	if _, err := uuid.Parse(o.WorkspaceID); err != nil {
		return o, fmt.Errorf("--workspace %q is not a workspace id (a GUID)", o.WorkspaceID)
	}
	for _, t := range o.Tables {
		if _, ok := LookupTable(t); !ok {
			return o, fmt.Errorf("--workspace-tables: unknown table %q (known: %s)", t, strings.Join(TableNames(), ", "))
		}
	}
	if caFile != "" && o.Transport == nil {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return o, fmt.Errorf("--workspace-ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("--workspace-ca %s: no PEM certificate in it", caFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		o.Transport = &http.Client{Transport: tr}
	}
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	if !strings.HasPrefix(o.Endpoint, "https://") {
		return o, fmt.Errorf("--workspace-url %q: the Logs query API is served over https", o.Endpoint)
	}
	if o.Endpoint != DefaultEndpoint {
		o.Audience = strings.TrimSuffix(strings.TrimRight(o.Endpoint, "/"), "/v1")
	}
	return o, nil
}
