package main

import (
	"strings"

	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/collect/snapshot"
)

// validateSnapshot checks --tenant-objects, --message-id and --attach, and
// adds the message source when a message is asked for.
func (o *grabOptions) validateSnapshot(v *validated) error {
	var snap *snapshot.Source
	for _, s := range v.sources {
		if ss, ok := s.(*snapshot.Source); ok {
			snap = ss
		}
	}
	if snap != nil {
		snap.TenantObjects = o.tenantObjects // the flag without the source is refused by pipeline.Scope
	}
	if o.messageID != "" {
		id := snapshot.NormalizeMessageID(o.messageID)
		if len(id) < 5 || !strings.Contains(id, "@") || strings.ContainsAny(id, "\r\n") {
			return usageErr("--message-id %q is not an internet message id (like <CAF7731.x@example.com>)", o.messageID)
		}
		if o.allUsers {
			return usageErr("--message-id needs --user: the message is looked up in the named users' mailboxes")
		}
		v.message = &snapshot.Message{InternetMessageID: id}
		v.sources = append(v.sources, v.message)
	}
	att, err := pipeline.CheckAttachments(o.attach)
	if err != nil {
		return usageErr("%v", err)
	}
	v.attach = att
	return nil
}

// attachments is the collector of grab's attachments: the messages the
// message source fetched, then the --attach files.
func attachments(v *validated) pipeline.Attachments {
	c := pipeline.Attachments{Files: v.attach}
	if v.message != nil {
		c.Before = v.message.Attachments
	}
	return c
}
