package main

import (
	"log/slog"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/workspace"
	"github.com/spf13/pflag"
)

// workspaceFlags are grab's options for the Log Analytics workspace source.
type workspaceFlags struct {
	id     string
	url    string
	tables []string
	ca     string // PEM file of a CA to trust besides the system's (a TLS-inspecting proxy, the simulator)

	// set programmatically (demo, tests): the HTTP client that trusts the
	// simulated endpoint's certificate.
	transport policy.Transporter
}

func (w *workspaceFlags) register(f *pflag.FlagSet) {
	f.StringVar(&w.id, "workspace", "", "Log Analytics workspace id (a GUID) for --sources workspace")
	f.StringVar(&w.url, "workspace-url", workspace.DefaultEndpoint, "Logs query API endpoint (national clouds, or the simulator)")
	f.StringVar(&w.ca, "workspace-ca", "", "PEM file of an extra CA to trust for --workspace-url")
	_ = f.MarkHidden("workspace-ca")
	f.StringSliceVar(&w.tables, "workspace-tables", nil, "workspace tables to read (default all): "+strings.Join(workspace.TableNames(), ", "))
}

// configure checks the flags against the selected sources (before any
// request) and hands the collector its options and the credential.
func (w *workspaceFlags) configure(v *validated, cred collect.TokenSource, log *slog.Logger) error {
	var src *workspace.Source
	for _, s := range v.sources {
		if ws, ok := s.(*workspace.Source); ok {
			src = ws
		}
	}
	if src == nil { // its flags without it are refused by pipeline.Scope
		return nil
	}
	opt, err := workspace.Options{WorkspaceID: w.id, Credential: cred, Endpoint: w.url, Tables: w.tables, Transport: w.transport, Log: log}.Checked(w.ca)
	if err != nil {
		return usageErr("%v", err)
	}
	src.Opt = opt
	return nil
}
