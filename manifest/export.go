package manifest

// Export links a bundle written by `evidence export` into its series: the
// bundle's place in the state's hash-chained index and the interval of new
// data it covers. With it, the chain can be re-checked from the bundles
// alone.
type Export struct {
	State    string `json:"state"`    // where the export's state is kept (path or URL, no secret)
	Sequence int    `json:"sequence"` // this bundle's index entry number (1, 2, ...)
	Previous string `json:"previous"` // SHA-256 of the previous index entry ("" for the first)
	Interval Window `json:"interval"` // the new data this bundle covers, UTC
	// Changes summarises diff.json: what changed in the tenant's state
	// (snapshot, tenant, signals) since the previous bundle of the series.
	Changes *ExportChanges `json:"changes,omitempty"`
}

// ExportChanges is the manifest's summary of an export bundle's diff.json.
type ExportChanges struct {
	File        string `json:"file"`                   // "diff.json" in this bundle; "" when nothing was compared
	Previous    string `json:"previous"`               // the bundle compared with (its index location), "" for none
	Appeared    int    `json:"appeared"`               // objects only in this bundle
	Disappeared int    `json:"disappeared"`            // objects only in the previous one
	Changed     int    `json:"changed"`                // objects in both, with other properties
	Alerts      int    `json:"alerts"`                 // changes that match a finding of this bundle
	NotCompared string `json:"not_compared,omitempty"` // why nothing was compared
}

// SourceExport is what an export run did for one source: per scope, where
// it resumed, how far it re-read for late records, and where it got to; and
// how many records the overlap re-read returned that an earlier bundle of
// the series already holds (not written again: records − deduplicated =
// lines in the source's files).
type SourceExport struct {
	Deduplicated int64         `json:"deduplicated"` // dropped: already in an earlier bundle
	Late         int64         `json:"late"`         // kept: older than the previous watermark, first seen now
	Revised      int64         `json:"revised"`      // kept: exported before with other bytes (a republished record)
	Scopes       []ExportScope `json:"scopes"`
}

// ExportScope is one scope (the tenant, or a user id) of a source.
type ExportScope struct {
	Scope     string `json:"scope"`
	Previous  string `json:"previous,omitempty"` // watermark before this run ("" on the first run)
	ReadFrom  string `json:"read_from"`          // where the query started (previous watermark minus the overlap)
	Watermark string `json:"watermark"`          // the watermark after this run, if the run is committed
	Advanced  bool   `json:"advanced"`           // false: the scope did not complete; the next run resumes from Previous
}
