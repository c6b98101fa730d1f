package pipeline

import (
	"bytes"
	"errors"
	"log/slog"
	"syscall"
	"time"

	"github.com/evidence-dfir/evidence/archive/bundle"
	"github.com/evidence-dfir/evidence/archive/report"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// writeReport renders report.html into the bundle being written, from the
// record files the stage holds, before it is sealed (so the page is hashed
// like every other file). The page is rendered in memory first: a failure
// never leaves a half-written page, and never costs the evidence; it is
// recorded as a manifest warning and the bundle is sealed without the page.
//
// The page knows whether the bundle is about to be signed (signer), not the
// signature itself, which is made after the page is sealed.
func writeReport(stage *bundle.Stage, m *manifest.Manifest, lang string, signer seal.Signer, log *slog.Logger) {
	err := func() error {
		defer report.LimitMemory()()
		if err := stage.Flush(); err != nil {
			return err
		}
		an := report.NewAnalyzer()
		if err := report.FeedDir(an, stage.Dir(), nil); err != nil {
			return err
		}
		rendered, _ := time.Parse(time.RFC3339Nano, m.CollectionEnd)
		sig := report.Signature{State: report.SigUnsigned}
		if signer != nil {
			sig = report.Signature{State: report.SigPlanned, File: manifest.SigName, Key: seal.Fingerprint(signer.PublicKey())}
		}
		var buf bytes.Buffer
		if err := report.Render(&buf, m, an, report.Options{
			Lang: lang, Embedded: true, BundleName: stage.Name(),
			Signature: sig,
			Renderer:  m.Tool.Name + " " + m.Tool.Version, Rendered: rendered,
		}); err != nil {
			return err
		}
		w, err := stage.Create(report.FileName, "", bundle.MediaHTML)
		if err != nil {
			return err
		}
		if _, err = w.Write(buf.Bytes()); err == nil {
			err = stage.Flush(report.FileName)
		}
		if err != nil { // a page cut short is not sealed
			err = errors.Join(err, stage.Remove(report.FileName))
		}
		return err
	}()
	if err != nil {
		log.Warn("report.html not written", "err", err)
		m.Warnings = append(m.Warnings, "report.html could not be written: "+oneLine(err.Error())+"; the records are unaffected")
		if m.Partial != nil && errors.Is(err, syscall.ENOSPC) {
			m.Partial.Omitted = append(m.Partial.Omitted, manifest.Omitted{Path: report.FileName, Reason: collect.StopDiskFull})
		}
	}
}
