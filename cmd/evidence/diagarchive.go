package main

import (
	"log/slog"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/diagarchive"
	"github.com/spf13/pflag"
)

// diagArchiveFlags are grab's options for the diagnostic-settings storage
// archive source.
type diagArchiveFlags struct {
	url        string
	containers []string

	transport policy.Transporter // set programmatically (tests)
}

func (d *diagArchiveFlags) register(f *pflag.FlagSet) {
	f.StringVar(&d.url, "diag-archive", "", "storage account the tenant's Entra diagnostic settings archive to, https://ACCOUNT.blob.core.windows.net, for --sources diagarchive (credential: "+diagarchive.EnvSAS+" from the environment, or the Entra ID --auth)")
	f.StringSliceVar(&d.containers, "diag-archive-containers", nil, "containers to read (default all): "+strings.Join(diagarchive.ContainerNames(), ", "))
}

// configure checks the flags against the selected sources (before any
// request) and hands the collector its options and credential.
func (d *diagArchiveFlags) configure(v *validated, cred collect.TokenSource, method string, log *slog.Logger) error {
	var src *diagarchive.Source
	for _, s := range v.sources {
		if ds, ok := s.(*diagarchive.Source); ok {
			src = ds
		}
	}
	switch {
	case src == nil && (d.url != "" || len(d.containers) > 0):
		return usageErr("--diag-archive and --diag-archive-containers apply to the diagarchive source: add diagarchive to --sources")
	case src == nil:
		return nil
	case d.url == "":
		return usageErr("--sources diagarchive needs --diag-archive https://ACCOUNT.blob.core.windows.net (the storage account the diagnostic settings archive to)")
	}
	svc, err := diagarchive.ParseService(d.url)
	if err != nil {
		return usageErr("--diag-archive: %v", err)
	}
	for _, c := range d.containers {
		if _, ok := diagarchive.LookupContainer(c); !ok {
			return usageErr("--diag-archive-containers: unknown container %q (known: %s)", c, strings.Join(diagarchive.ContainerNames(), ", "))
		}
	}
	sas := strings.TrimSpace(os.Getenv(diagarchive.EnvSAS))
	if sas == "" && (cred == nil || method == "token") {
		return usageErr("--diag-archive: no credential for the storage account: set %s (a SAS with read and list) or use an Entra ID --auth method (%s); a Graph token cannot read storage", diagarchive.EnvSAS, strings.Join(storageAuthMethods(), ", "))
	}
	src.Opt = diagarchive.Options{Service: svc, SAS: sas, Containers: d.containers, Transport: d.transport, Log: log}
	if sas == "" {
		src.Opt.Credential = cred
	}
	return nil
}
