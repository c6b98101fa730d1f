package main

import (
	"strings"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/collect/snapshot"
	"github.com/evidence-dfir/evidence/manifest"
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
	if o.tenantObjects {
		if snap == nil {
			return usageErr("--tenant-objects needs --sources snapshot")
		}
		snap.TenantObjects = true
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
	att, err := checkAttachments(o.attach)
	if err != nil {
		return err
	}
	v.attach = att
	return nil
}

// attachAll copies the --attach files and lists them, after the messages
// the message source fetched, for the manifest.
func attachAll(stage *bundle.Stage, v *validated) ([]manifest.Attachment, error) {
	var out []manifest.Attachment
	if v.message != nil {
		out = append(out, v.message.Attachments()...)
	}
	files, err := copyAttachments(stage, v.attach)
	if err != nil {
		return nil, err
	}
	return append(out, files...), nil
}
