package collect

import (
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
)

// The source registry. Every source registers one Descriptor, from its own
// package's init (signins, audits and messagetrace from this package's);
// collect/sources imports every source package, so a program that imports
// collect/sources sees all of them. The CLI's --sources, its shell
// completion, the generated table in docs/sources.md, the report's names
// and the simulator's coverage test all read the registry, so a new source
// is its own package plus one import line in collect/sources.

// Default says whether a source is collected when --sources is not given.
type Default int

const (
	// Off: collected only when named in --sources.
	Off Default = iota
	// On: collected by default; a tenant that does not allow it (licence,
	// permission) is recorded in the manifest with the reason.
	On
	// WhenFlag: collected by default only when its first flag (Flags[0]) is
	// given, because it cannot run without it (the workspace source needs
	// --workspace).
	WhenFlag
)

// String is the docs' word for d.
func (d Default) String() string {
	switch d {
	case On:
		return "yes"
	case WhenFlag:
		return "with its flag"
	}
	return "no"
}

// File is one record file (JSON Lines, with its CSV view beside it) a
// source writes.
type File struct {
	// Pattern is the bundle-relative .jsonl path, a path.Match pattern
	// where a part varies ("tenant/*.jsonl").
	Pattern string
	// Columns are the CSV view's columns; nil when they vary per part or
	// table (the part's package documents them).
	Columns []Column
}

// Config is what the command line gives a source's constructor.
type Config struct {
	Kinds []SignInKind // --signin-kinds (the signins source)
}

// Descriptor describes one source: what --sources calls it, what it writes,
// which catalogue entries it sends, how it splits and resumes, and which
// flags configure it.
type Descriptor struct {
	Name    string // the --sources name; the manifest's sources[].name is Name or Name.<part>
	Summary string // what it collects, one line
	// Order is the collection order, lowest first: ual reads the sign-ins'
	// status (the Free-tier trail), so it comes after signins.
	Order   int
	Default Default
	Files   []File
	// Endpoints are the requests the source may send: collect/catalog IDs,
	// or another API's endpoint named "api: METHOD /path" (as it appears
	// in requests.jsonl's endpoint field).
	Endpoints []string
	Split     string // how the window is cut (or "state": the source reads current state)
	Resume    string // what grab --resume does for it
	// Flags are the flags (without "--") that configure this source only:
	// one given while the source is not selected is refused.
	Flags []string
	// State is true for a source that reads current state rather than a
	// time window of log records: its windows are when each read ran.
	State bool
	// Also lists other sources[].name values the source's package records
	// (the message fetched by --message-id is recorded as "message").
	Also []string
	// New returns the source's collectors for one run.
	New func(Config) []Source
	// Configure, when set, turns the run's option values (Setup.Options
	// under Name) into one collector's options and checks them, once the
	// command line is checked and the credential made, before any request.
	// Its errors name the flag. It returns the collector to run.
	Configure func(src Source, s Setup) (Source, error)
	// Resumes says the source keeps state in Setup.StateDir that a later
	// run (grab --resume) re-uses: the run keeps that directory.
	Resumes bool
}

// Setup is what a run hands the Configure of each source it selected.
type Setup struct {
	// Options are the sources' option values as the command line gave
	// them, by source name, each of the type its package defines
	// (ual.Flags, workspace.Flags, ...); a missing entry is the zero value.
	Options map[string]any
	// Credential signs the source's requests in (Graph's, or for another
	// API an Entra ID credential); AuthMethod is how it was made (--auth).
	Credential TokenSource
	AuthMethod string
	CaseID     string
	// StateDir is the run's resume directory: a source that Resumes keeps
	// its state in a folder of its name inside it.
	StateDir string
	Log      *slog.Logger
}

// ConfigureSources runs the Configure of each collector's source (found by
// its manifest name, SourceOf) and returns the collectors to run.
func ConfigureSources(srcs []Source, s Setup) ([]Source, error) {
	out := make([]Source, len(srcs))
	for i, src := range srcs {
		out[i] = src
		if d, ok := SourceOf(src.Name()); ok && d.Configure != nil {
			c, err := d.Configure(src, s)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
	}
	return out, nil
}

// Resuming reports whether one of srcs keeps state for a resume.
func Resuming(srcs []Source) bool {
	for _, src := range srcs {
		if d, ok := SourceOf(src.Name()); ok && d.Resumes {
			return true
		}
	}
	return false
}

var registry struct {
	sync.Mutex
	byName map[string]Descriptor
}

// Register adds d to the registry. It panics on a duplicate or incomplete
// descriptor: registration runs in init, so a mistake stops every test.
func Register(d Descriptor) {
	registry.Lock()
	defer registry.Unlock()
	if d.Name == "" || d.New == nil || d.Summary == "" || len(d.Files) == 0 {
		panic(fmt.Sprintf("collect.Register: descriptor %q needs Name, Summary, Files and New", d.Name))
	}
	if d.Default == WhenFlag && len(d.Flags) == 0 {
		panic(fmt.Sprintf("collect.Register: %s is default WhenFlag but names no flag", d.Name))
	}
	if registry.byName == nil {
		registry.byName = map[string]Descriptor{}
	}
	if _, dup := registry.byName[d.Name]; dup {
		panic("collect.Register: source " + d.Name + " registered twice")
	}
	registry.byName[d.Name] = d
}

// Sources returns every registered source in collection order.
func Sources() []Descriptor {
	registry.Lock()
	defer registry.Unlock()
	out := make([]Descriptor, 0, len(registry.byName))
	for _, d := range registry.byName {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Descriptor) int {
		if a.Order != b.Order {
			return a.Order - b.Order
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// SourceNames returns every --sources name in collection order.
func SourceNames() []string {
	var out []string
	for _, d := range Sources() {
		out = append(out, d.Name)
	}
	return out
}

// DefaultSourceNames returns the sources collected without --sources, in
// collection order; given reports whether a flag was set on the command
// line (for WhenFlag sources).
func DefaultSourceNames(given func(flag string) bool) []string {
	var out []string
	for _, d := range Sources() {
		if d.Default == On || (d.Default == WhenFlag && given != nil && given(d.Flags[0])) {
			out = append(out, d.Name)
		}
	}
	return out
}

// LookupSource returns the descriptor registered as name.
func LookupSource(name string) (Descriptor, bool) {
	registry.Lock()
	defer registry.Unlock()
	d, ok := registry.byName[name]
	return d, ok
}

// SourceOf returns the descriptor of a manifest sources[].name: the source
// itself ("audits"), one of its parts ("signins.interactive",
// "snapshot.out-of-scope") or a name it records besides (Also).
func SourceOf(manifestName string) (Descriptor, bool) {
	if d, ok := LookupSource(manifestName); ok {
		return d, true
	}
	if head, _, ok := strings.Cut(manifestName, "."); ok {
		if d, ok := LookupSource(head); ok {
			return d, true
		}
	}
	for _, d := range Sources() {
		if slices.Contains(d.Also, manifestName) || slices.ContainsFunc(d.Also, func(a string) bool { return strings.HasPrefix(manifestName, a+".") }) {
			return d, true
		}
	}
	return Descriptor{}, false
}

// Writes reports whether file (bundle-relative) is one of d's record files,
// its CSV view, or the out-of-scope file of one of them.
func (d Descriptor) Writes(file string) bool {
	if base, ok := strings.CutSuffix(file, ".csv"); ok {
		file = base + ".jsonl"
	}
	file = strings.Replace(file, ".out-of-scope.jsonl", ".jsonl", 1)
	for _, f := range d.Files {
		if ok, _ := path.Match(f.Pattern, file); ok {
			return true
		}
	}
	return false
}

// SelectSources turns --sources names into collectors in collection order.
// An unknown name, or none, is an error naming the known ones.
func SelectSources(names []string, cfg Config) ([]Source, error) {
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if _, ok := LookupSource(n); !ok {
			return nil, fmt.Errorf("unknown source %q (known: %s)", n, strings.Join(SourceNames(), ", "))
		}
		seen[n] = true
	}
	var all []Source
	for _, d := range Sources() {
		if seen[d.Name] {
			all = append(all, d.New(cfg)...)
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no source selected (known: %s)", strings.Join(SourceNames(), ", "))
	}
	return all, nil
}

// CoreEndpoints are the catalogue entries the collection itself sends for
// every source: the licence probe and the user lookup.
var CoreEndpoints = []string{"signins.v1", "users.get"}

// DefaultSourcesHelp says, for --sources' help, what is collected without
// it: the default sources, and those that come with their flag.
func DefaultSourcesHelp() string {
	h := strings.Join(DefaultSourceNames(nil), ",")
	for _, d := range Sources() {
		if d.Default == WhenFlag {
			h += ", and " + d.Name + " with --" + d.Flags[0]
		}
	}
	return h
}
