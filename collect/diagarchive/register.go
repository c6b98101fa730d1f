package diagarchive

import (
	"fmt"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/evidence-dfir/evidence/collect"
)

// Flags are the source's option values as a command line gives them
// (collect.Setup.Options["diagarchive"]).
type Flags struct {
	URL        string   // --diag-archive: the storage account
	Containers []string // --diag-archive-containers
	Transport  policy.Transporter
}

// configure checks the flags (before any request) and hands the collector
// its options and credential: a SAS from EnvSAS, else the run's Entra ID
// credential (a Graph token cannot read storage).
func configure(src collect.Source, s collect.Setup) (collect.Source, error) {
	ds, ok := src.(*Source)
	if !ok {
		return src, nil
	}
	f, _ := s.Options[Name].(Flags)
	if f.URL == "" {
		return nil, fmt.Errorf("--sources diagarchive needs --diag-archive https://ACCOUNT.blob.core.windows.net (the storage account the diagnostic settings archive to)")
	}
	svc, err := ParseService(f.URL)
	if err != nil {
		return nil, fmt.Errorf("--diag-archive: %w", err)
	}
	for _, c := range f.Containers {
		if _, ok := LookupContainer(c); !ok {
			return nil, fmt.Errorf("--diag-archive-containers: unknown container %q (known: %s)", c, strings.Join(ContainerNames(), ", "))
		}
	}
	sas := strings.TrimSpace(os.Getenv(EnvSAS))
	if sas == "" && (s.Credential == nil || s.AuthMethod == "token") {
		return nil, fmt.Errorf("--diag-archive: no credential for the storage account: set %s (a SAS with read and list) or use an Entra ID --auth method (%s); a Graph token cannot read storage", EnvSAS, strings.Join(collect.StorageAuthMethods(), ", "))
	}
	ds.Opt = Options{Service: svc, SAS: sas, Containers: f.Containers, Transport: f.Transport, Log: s.Log}
	if sas == "" {
		ds.Opt.Credential = s.Credential
	}
	return ds, nil
}

func init() {
	collect.Register(collect.Descriptor{
		Name:    Name,
		Summary: "the hourly blobs Entra diagnostic settings archive to a storage account, copied byte for byte with an index",
		Order:   90,
		Default: collect.WhenFlag, // it cannot run without the storage account
		Files:   []collect.File{{Pattern: IndexPath}, {Pattern: Dir + "/*"}},
		// Blob storage, not Graph: requests.jsonl names them "storage: METHOD blob service".
		Endpoints: []string{"storage: GET blob service"},
		Split:     "the hours of the window, one blob per hour and category",
		Resume:    "collected again",
		Flags:     []string{"diag-archive", "diag-archive-containers"},
		New:       func(collect.Config) []collect.Source { return []collect.Source{&Source{}} },
		Configure: configure,
	})
}
