package bundle

import "time"

// StampLayout is how a time is written in every name the tool gives a file
// or directory (bundles, archives, custody logs, receipts, reports, resume
// state, export bundles): ISO 8601's basic format in UTC to the second,
// 20261205T061048Z. It holds no ':', which GNU tar reads as host:file
// ("tar --zstd -xf NAME" would try to connect to a host) and which Windows,
// SharePoint and OneDrive refuse in a file name.
//
// Bundles named before this layout (evidence-2026-12-05T06:10:48Z-3c2c65ce)
// stay readable: nothing parses a name; verify and report read the
// manifest.
const StampLayout = "20060102T150405Z"

// Stamp writes t in StampLayout (in UTC; fractions of a second are dropped).
func Stamp(t time.Time) string { return t.UTC().Format(StampLayout) }

// Name is the name of a bundle collected or imported at started for the
// case caseID: evidence-STAMP-XXXXXXXX, the first 8 characters of the case
// id telling apart two bundles started in the same second.
func Name(started time.Time, caseID string) string {
	if len(caseID) > 8 {
		caseID = caseID[:8]
	}
	return "evidence-" + Stamp(started) + "-" + caseID
}

// ExportName is the name of an export bundle holding the new data of the
// half-open interval [start, end): evidence-export-START--END (ISO 8601's
// "--" interval separator).
func ExportName(start, end time.Time) string {
	return "evidence-export-" + Stamp(start) + "--" + Stamp(end)
}
