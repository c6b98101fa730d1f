package blob

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// List returns the names of the blobs directly under the target's path
// (not in deeper "folders"), relative to it, in the service's order
// (lexicographic). It needs the List permission ("l" in a SAS).
func (s *Store) List(ctx context.Context) ([]string, error) {
	cc, err := s.containerClient()
	if err != nil {
		return nil, err
	}
	prefix := ""
	if s.target.Path != "" {
		prefix = s.target.Path + "/"
	}
	opts := &container.ListBlobsHierarchyOptions{}
	if prefix != "" {
		opts.Prefix = &prefix
	}
	var names []string
	pager := cc.NewListBlobsHierarchyPager("/", opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("listing "+s.target.String(), err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name != nil {
				names = append(names, strings.TrimPrefix(*b.Name, prefix))
			}
		}
	}
	return names, nil
}

// containerClient is a client of the target's container, with the store's
// credential.
func (s *Store) containerClient() (*container.Client, error) {
	u := s.target.Service + "/" + s.target.Container
	opts := &container.ClientOptions{ClientOptions: policy.ClientOptions{Telemetry: policy.TelemetryOptions{ApplicationID: "evidence"}}}
	switch {
	case s.creds.SAS != "":
		c, err := container.NewClientWithNoCredential(u+"?"+s.creds.SAS, opts)
		return c, s.wrap("container client", err)
	case s.creds.ConnectionString != "":
		c, err := container.NewClientFromConnectionString(s.creds.ConnectionString, s.target.Container, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot parse the connection string", EnvConnectionString)
		}
		if !sameBlobURL(c.URL(), u) {
			return nil, fmt.Errorf("%s points to a different storage endpoint than %s: use a connection string for that account", EnvConnectionString, s.target.Service)
		}
		return c, nil
	default:
		c, err := container.NewClient(u, s.creds.Token, opts)
		return c, s.wrap("container client", err)
	}
}
