package diagarchive

import "github.com/evidence-dfir/evidence/collect"

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
	})
}
