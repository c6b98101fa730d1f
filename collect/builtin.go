package collect

// The sources this package implements register here; the others register
// from their own packages (see collect/sources).
func init() {
	var kindFiles []File
	for _, k := range SignInKinds {
		kindFiles = append(kindFiles, File{Pattern: k.Path, Columns: k.Columns})
	}
	Register(Descriptor{
		Name:    "signins",
		Summary: "Entra sign-ins of the kinds in --signin-kinds (the admin center's four tabs)",
		Order:   10,
		Default: On,
		Files:   kindFiles,
		// the user-app lookup (service principal and managed identity
		// sign-ins) reads consents, owned objects, apps and audits
		Endpoints: []string{"signins.beta", "signins.v1", "grants.list", "serviceprincipals.get", "users.ownedObjects",
			"applications.get", "applications.owners", "audits"},
		Split:  "sub-windows of --split, halved past --max-pages pages",
		Resume: "collected again",
		Flags:  []string{"signin-kinds"},
		New: func(cfg Config) []Source {
			kinds := cfg.Kinds
			if len(kinds) == 0 {
				kinds = SignInKinds
			}
			apps := &AppCache{} // the user-app lookup, shared by the kinds
			out := make([]Source, 0, len(kinds))
			for _, k := range kinds {
				out = append(out, SignIns{Kind: k, Apps: apps})
			}
			return out
		},
	})
	Register(Descriptor{
		Name:      "audits",
		Summary:   "directory audits: what the user did and what was done to the user",
		Order:     20,
		Default:   On,
		Files:     []File{{Pattern: AuditsPath, Columns: AuditColumns}},
		Endpoints: []string{"audits"},
		Split:     "sub-windows of --split, halved past --max-pages pages",
		Resume:    "collected again",
		New:       func(Config) []Source { return []Source{DirectoryAudits{}} },
	})
	Register(Descriptor{
		Name:      "messagetrace",
		Summary:   "Exchange Online message trace (90 days), sent and received by each address of the user",
		Order:     40,
		Default:   On,
		Files:     []File{{Pattern: MessageTracePath, Columns: TraceColumns}, {Pattern: MessageTraceDetailsPath, Columns: TraceDetailColumns}},
		Endpoints: []string{"messagetrace.list", "messagetrace.details", "organization"},
		Split:     "slices of at most 10 days (the service's limit), halved past --max-pages pages",
		Resume:    "collected again",
		Flags:     []string{"trace-details"},
		New:       func(Config) []Source { return []Source{MessageTrace{}} },
		Configure: func(src Source, s Setup) (Source, error) {
			if mt, ok := src.(MessageTrace); ok {
				f, _ := s.Options["messagetrace"].(MessageTraceFlags)
				mt.Details = f.Details
				return mt, nil
			}
			return src, nil
		},
	})
}
