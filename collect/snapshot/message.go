package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// MessageSourceName is the message source's name in the manifest.
const MessageSourceName = "message"

// MessagesPath holds the list entries of the messages found, as Graph sent them.
const MessagesPath = "attachments/messages.jsonl"

// MessageSelect are the message properties read to find the message; never
// its body.
const MessageSelect = "id,internetMessageId,subject,receivedDateTime,from,parentFolderId"

// Message fetches the MIME content of the message with InternetMessageID
// from each user's mailbox (/users/{id}/messages?$filter=internetMessageId
// eq '...', then /messages/{id}/$value) into attachments/ as .eml. Only
// messages whose internetMessageId equals the one asked for are fetched,
// whatever the service returns. It needs Mail.Read.
type Message struct {
	InternetMessageID string

	attachments []manifest.Attachment
}

// NormalizeMessageID returns the internet message id with the angle
// brackets Graph stores it with, adding them when missing.
func NormalizeMessageID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		return s
	}
	return "<" + strings.Trim(s, "<>") + ">"
}

// Name implements collect.Source.
func (*Message) Name() string { return MessageSourceName }

// Attachments returns what Collect saved, for the manifest.
func (m *Message) Attachments() []manifest.Attachment { return m.attachments }

// Collect implements collect.Source.
func (m *Message) Collect(ctx context.Context, c *collect.Client, job collect.Job, out collect.Output) (manifest.Source, error) {
	base := c.BaseURL("v1.0")
	filter := "internetMessageId eq " + collect.ODataString(m.InternetMessageID)
	src := manifest.Source{Name: MessageSourceName, Endpoint: "GET " + base + "/users/{id}/messages, then /messages/{id}/$value", Query: "$filter=" + filter}
	files, ok := out.(Files)
	if !ok {
		return src, &collect.FatalError{Err: errors.New("message: the bundle cannot hold attachments")}
	}
	var list collect.Sink
	found := 0
	for _, u := range job.Users {
		started := time.Now().UTC()
		sw := manifest.SubWindow{Scope: u.ID, Query: "GET /users/" + esc(u.ID) + "/messages?$filter=" + filter, Status: manifest.StatusCollected}
		var hits []gjson.Result
		var raws [][]byte
		other := 0
		pages, err := c.Pages(ctx, collect.ClassDirectory, MessageSourceName,
			base+"/users/"+esc(u.ID)+"/messages?$filter="+collect.QueryEscape(filter)+"&$select="+MessageSelect,
			func(_ int, p *collect.Page) error {
				for _, rec := range p.Records {
					r := gjson.ParseBytes(rec)
					if r.Get("internetMessageId").String() != m.InternetMessageID {
						other++ // never fetch what was not asked for
						continue
					}
					hits = append(hits, r)
					raws = append(raws, rec)
				}
				return nil
			})
		sw.Pages = int64(pages)
		if err != nil {
			var fe *collect.FatalError
			if errors.As(err, &fe) {
				return src, err
			}
			status, reason, fatal := classify(err)
			if fatal {
				return src, &collect.FatalError{Err: err}
			}
			sw.Status, sw.Reason = status, reason
		}
		for i, h := range hits {
			if list == nil {
				if list, err = out.Open(MessagesPath, MessageSourceName, messageColumns); err != nil {
					return src, &collect.FatalError{Err: err}
				}
				src.Files = append(src.Files, MessagesPath, collect.CSVPath(MessagesPath))
			}
			if err := list.Write(raws[i]); err != nil {
				return src, &collect.FatalError{Err: err}
			}
			sw.Records++ // a record is the list entry written; its MIME is an attachment
			id := h.Get("id").String()
			resp, err := c.Do(ctx, collect.Request{Class: collect.ClassDirectory, Source: MessageSourceName,
				URL: base + "/users/" + esc(u.ID) + "/messages/" + esc(id) + "/$value"}, nil)
			if err != nil {
				var fe *collect.FatalError
				if errors.As(err, &fe) {
					return src, err
				}
				status, reason, fatal := classify(err)
				if fatal {
					return src, &collect.FatalError{Err: err}
				}
				sw.Status, sw.Reason = status, "MIME content: "+reason
				continue
			}
			found++
			rel := fmt.Sprintf("attachments/message-%02d.eml", found)
			w, err := files.Create(rel, MessageSourceName, "message/rfc822")
			if err != nil {
				return src, &collect.FatalError{Err: err}
			}
			if _, err := w.Write(resp.Body); err != nil {
				return src, &collect.FatalError{Err: fmt.Errorf("writing %s: %w", rel, err)}
			}
			sum := sha256.Sum256(resp.Body)
			a := manifest.Attachment{Path: rel, Kind: manifest.AttachmentMessage, Size: int64(len(resp.Body)), SHA256: hex.EncodeToString(sum[:]),
				UserID: u.ID, InternetMessageID: m.InternetMessageID, MessageID: id}
			if t, err := time.Parse(time.RFC3339Nano, h.Get("receivedDateTime").String()); err == nil {
				a.Received = collect.FormatTime(t)
			}
			m.attachments = append(m.attachments, a)
			src.Files = append(src.Files, rel)
		}
		if sw.Status == manifest.StatusCollected {
			switch {
			case len(hits) == 0:
				sw.Reason = "no message with this internetMessageId in this mailbox"
			case other > 0:
				sw.Reason = fmt.Sprintf("the service also returned %d message(s) with another internetMessageId; they were not fetched", other)
			}
		}
		sw.Window = manifest.NewWindow(started, time.Now().UTC())
		src.Windows = append(src.Windows, sw)
	}
	summarize(&src)
	if found == 0 && src.Status == manifest.StatusCollected {
		src.Status = manifest.StatusFailed
		src.Reason = "no mailbox of the given users holds a message with internetMessageId " + m.InternetMessageID
	}
	return src, nil
}

var messageColumns = []collect.Column{
	collect.Time("Received (UTC)", "receivedDateTime"), collect.Str("Internet message id", "internetMessageId"),
	collect.Str("Subject", "subject"), collect.Str("From", "from.emailAddress.address"), collect.Str("Id", "id"),
}
