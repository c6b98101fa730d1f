package pipeline

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/report"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
)

// RenderReport renders report.html again from the bundle at p (directory
// or archive), which it only reads, into out ("" for NAME.report.html in
// the current directory, "-" for stdout), in lang; renderer names this
// build. A bundle that does not verify still gets a page, with the
// problems at the top: the caller reads res. It returns the page's path
// ("" for stdout).
func RenderReport(p, out, lang, renderer string, stdout io.Writer) (path string, res *manifest.Result, err error) {
	if _, err := os.Stat(p); err != nil {
		return "", nil, usageErr("report: %v", err)
	}
	if res, err = VerifyPath(p); err != nil {
		return "", nil, err
	}
	b, err := report.ReadBundle(p)
	var nb *report.NotBundleError
	switch {
	case errors.As(err, &nb):
		return "", nil, verifyErr(err)
	case err != nil:
		return "", nil, failErr(err)
	}
	o := b.Options
	o.Lang = lang
	if out == "" {
		out = report.OutName(b.Name, lang)
	}
	if b.Dir != "" {
		if out != "-" {
			if err := report.RefuseInside(out, b.Dir); err != nil {
				return "", nil, usageErr("%v", err)
			}
		}
		o.LinkPrefix = report.LinkPrefix(out, b.Name, b.Dir)
	}
	o.Integrity = &report.Integrity{OK: res.OK(), Files: res.Files, Bytes: res.Bytes}
	for _, pr := range res.Problems {
		o.Integrity.Problems = append(o.Integrity.Problems, pr.String())
	}
	o.Renderer, o.Rendered = renderer, time.Now().UTC()
	var buf bytes.Buffer
	if err := report.Render(&buf, b.Manifest, b.Analyzer, o); err != nil {
		return "", nil, failErr(err)
	}
	if path, err = report.WriteOut(out, b.Name, buf.Bytes(), stdout); err != nil {
		return "", nil, failErr(err)
	}
	return path, res, nil
}

// CustodyEvent is the event `custody append` records: the action, the
// actor (default the OS user) on this host, and the details: each
// KEY=VALUE of details, then the named ones given (to, from, note), with
// any SAS, token or key redacted (no secret in a signed log).
func CustodyEvent(action, actor string, details []string, named map[string]string) (manifest.CustodyEvent, error) {
	if action == "" {
		return manifest.CustodyEvent{}, usageErr("custody append: --action is required (one of %s)", strings.Join(manifest.CustodyActions, ", "))
	}
	d := map[string]string{}
	for _, kv := range details {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return manifest.CustodyEvent{}, usageErr("--detail %q: want KEY=VALUE", kv)
		}
		d[k] = v
	}
	for k, v := range named {
		if v != "" {
			d[k] = v
		}
	}
	for k, v := range d {
		d[k] = collect.RedactDetail(k, v)
	}
	if len(d) == 0 {
		d = nil
	}
	if actor == "" {
		actor = OSUser()
	}
	return manifest.CustodyEvent{Actor: actor, Host: Hostname(), Action: action, Details: d}, nil
}
