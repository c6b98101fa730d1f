package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/manifest"
)

// bundlePrefix starts the name of every bundle an export writes.
const bundlePrefix = "evidence-export-"

// Leftovers lists what interrupted runs left that no run will finish: in
// out, the hidden work files of export bundles (.evidence-export-*.partial:
// a bundle being built, an archive or a file being written;
// .evidence-export-*.resume), and in the local state directory stateDir
// ("" for a blob state) the temporary files of a state write
// (.state.json.*.partial). The pending cycle's files are not listed:
// settlePending decides about them. An --out directory belongs to one
// export state: a run holding that state's lock is the only writer there.
func Leftovers(out, stateDir string, st *state.State) ([]string, error) {
	var found []string
	pending := ""
	if st != nil && st.Pending != nil {
		pending = st.Pending.Bundle
	}
	if out != "" {
		ents, err := os.ReadDir(out)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		for _, e := range ents {
			n := e.Name()
			if !strings.HasPrefix(n, "."+bundlePrefix) || !(strings.HasSuffix(n, ".partial") || strings.HasSuffix(n, ".resume")) {
				continue
			}
			if pending != "" && strings.HasPrefix(n, "."+pending+".") {
				continue // settlePending decides
			}
			found = append(found, filepath.Join(out, n))
		}
	}
	if stateDir != "" {
		tmp, err := filepath.Glob(filepath.Join(stateDir, "."+state.StateFile+".*.partial"))
		if err != nil {
			return nil, err
		}
		found = append(found, tmp...)
	}
	slices.Sort(found)
	return found, nil
}

// RemoveLeftovers removes what Leftovers lists and returns the paths removed.
func RemoveLeftovers(out, stateDir string, st *state.State) ([]string, error) {
	found, err := Leftovers(out, stateDir, st)
	if err != nil {
		return nil, err
	}
	for i, p := range found {
		if err := os.RemoveAll(p); err != nil {
			return found[:i], fmt.Errorf("removing the leftover %s: %w", p, err)
		}
	}
	return found, nil
}

// Orphans lists the bundles in the directories dirs (an export's --out;
// "" entries are skipped) that the state's index does not hold and that are
// not its pending cycle: sealed bundle directories (with SHA256SUMS) and
// archives named evidence-export-*. Such a bundle was sealed by a run that
// stopped before recording it: its records are not accounted for by the
// index, and the interval it holds was exported again.
func Orphans(st *state.State, dirs ...string) ([]string, error) {
	held := heldNames(st)
	var found []string
	seen := map[string]bool{}
	for _, dir := range dirs {
		if dir == "" || seen[dir] {
			continue
		}
		seen[dir] = true
		ents, err := os.ReadDir(dir)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		for _, e := range ents {
			n := e.Name()
			if !strings.HasPrefix(n, bundlePrefix) {
				continue
			}
			name := strings.TrimSuffix(n, manifest.ArchiveSuffix)
			switch {
			case held[n] || held[name]:
				continue
			case e.IsDir():
				if _, err := os.Stat(filepath.Join(dir, n, manifest.SumsName)); err != nil {
					continue
				}
			case !strings.HasSuffix(n, manifest.ArchiveSuffix):
				continue
			}
			found = append(found, filepath.Join(dir, n))
		}
	}
	slices.Sort(found)
	return found, nil
}

// heldNames are the names of the bundles the state knows: every index
// entry's (with and without the archive suffix) and the pending cycle's.
func heldNames(st *state.State) map[string]bool {
	held := map[string]bool{}
	for _, e := range st.Index {
		held[e.Bundle] = true
		held[strings.TrimSuffix(e.Bundle, manifest.ArchiveSuffix)] = true
	}
	if st.Pending != nil {
		held[st.Pending.Bundle] = true
		held[st.Pending.Bundle+manifest.ArchiveSuffix] = true
	}
	return held
}

// OrphanBlobs lists the archives named evidence-export-*.tar.zst directly
// under the store's target (an export's --blob-url) that the state's index
// does not hold and that are not its pending cycle, as the targets of
// each blob: bundles an interrupted run, or an earlier state, published
// and this index does not account for. Listing needs the List permission.
func OrphanBlobs(ctx context.Context, st *state.State, s *blob.Store) ([]blob.Target, error) {
	names, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	held := heldNames(st)
	var found []blob.Target
	for _, n := range names {
		if !strings.HasPrefix(n, bundlePrefix) || !strings.HasSuffix(n, manifest.ArchiveSuffix) || held[n] {
			continue
		}
		t := s.Target()
		t.Path = t.Join(n)
		found = append(found, t)
	}
	return found, nil
}

// localDirs returns the directories that hold the index's local bundles.
func localDirs(st *state.State) []string {
	var dirs []string
	for _, e := range st.Index {
		if !strings.Contains(e.Location, "://") && e.Location != "" {
			if d := filepath.Clean(filepath.Dir(e.Location)); !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

// stateDir is the directory of a local state store, "" for another store.
func stateDir(store fmt.Stringer) string {
	if d, ok := store.(*state.Dir); ok {
		return d.Path
	}
	return ""
}
