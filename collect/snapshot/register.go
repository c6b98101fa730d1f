package snapshot

import "github.com/evidence-dfir/evidence/collect"

// Flags are the source's option values as a command line gives them
// (collect.Setup.Options["snapshot"]).
type Flags struct {
	TenantObjects bool // --tenant-objects
}

func configure(src collect.Source, s collect.Setup) (collect.Source, error) {
	if ss, ok := src.(*Source); ok {
		f, _ := s.Options[Name].(Flags)
		ss.TenantObjects = f.TenantObjects
	}
	return src, nil
}

func init() {
	collect.Register(collect.Descriptor{
		Name:    Name,
		Summary: "the persistence snapshot: each user's methods, devices, inbox rules, consents, apps, roles and risk now, with findings",
		Order:   50,
		Default: collect.On,
		Files: []collect.File{
			{Pattern: Dir + "/users/*/*.jsonl"}, {Pattern: Dir + "/tenant/*.jsonl"}, {Pattern: Dir + "/*.jsonl"},
			{Pattern: MessagesPath, Columns: messageColumns},
		},
		Endpoints: []string{"users.get", "users.list", "users.authenticationMethods", "users.registeredDevices", "users.ownedDevices",
			"users.messageRules", "users.mailFolder", "users.mailboxSettings", "users.appRoleAssignments", "users.transitiveMemberOf",
			"users.ownedObjects", "users.createdObjects", "grants.list", "serviceprincipals.get", "serviceprincipals.list", "applications.list",
			"pim.eligible", "pim.active", "riskyUsers.get", "riskDetections.list", "users.messages", "users.messageMIME"},
		Split:  "state: one read per part and user",
		Resume: "read again",
		Flags:  []string{"tenant-objects"},
		State:  true,
		Also:   []string{MessageSourceName},
		New:    func(collect.Config) []collect.Source { return []collect.Source{&Source{}} },

		Configure: configure,
	})
}
