package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
)

// OpenStoreAuth opens the blob store at t with the environment's storage
// credential or, without one, auth's Entra ID sign-in (never a Graph
// bearer token, which storage does not accept).
func OpenStoreAuth(t blob.Target, auth collect.AuthOptions) (*blob.Store, error) {
	var tok collect.TokenSource
	var id string
	if auth.Method != "" && auth.Method != "token" {
		c, i, err := collect.Credential(auth)
		if err != nil {
			return nil, usageErr("%v", err)
		}
		tok, id = c, i
	}
	return OpenStore(t, tok, id, auth.Method)
}

// Pack is the plan of `evidence pack`: a sealed bundle directory packed
// into a new archive, and optionally uploaded.
type Pack struct {
	Dir    string       // the sealed bundle directory
	Out    string       // the archive to write; "" for DIR.tar.zst
	Store  *blob.Store  // nil: no upload
	Upload blob.Options // with Store
	Plan   Plan         // Log and Stderr
}

// CheckPack checks the directory and the archive's name before anything is
// written; it returns p with Out filled in.
func CheckPack(p Pack) (Pack, error) {
	p.Dir = filepath.Clean(p.Dir)
	fi, err := os.Stat(p.Dir)
	if err != nil {
		return p, usageErr("pack: %v", err)
	}
	if !fi.IsDir() {
		return p, usageErr("pack: %s is not a bundle directory", p.Dir)
	}
	if p.Out == "" {
		p.Out = p.Dir + ".tar.zst"
	}
	if !strings.HasSuffix(p.Out, ".tar.zst") {
		return p, usageErr("-o %s: the archive's name must end in .tar.zst", p.Out)
	}
	if _, err := os.Lstat(p.Out); err == nil {
		return p, usageErr("-o %s already exists: an archive is never overwritten", p.Out)
	}
	return p, nil
}

// RunPack verifies the directory (every hash, as verify does) and writes
// the same deterministic archive a grab would have written, its times
// the manifest's collection start; then uploads it when p.Store is set.
// The directory is read once for both: each file is hashed as it is
// streamed into the archive, which is kept only if the directory verifies,
// and then read back and verified. The directory is left in place.
func RunPack(ctx context.Context, p Pack) (*Result, *manifest.Manifest, error) {
	var m manifest.Manifest
	b, err := os.ReadFile(filepath.Join(p.Dir, manifest.ManifestName))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return nil, nil, refusePack(p.Dir, err)
	}
	mtime, err := time.Parse(time.RFC3339Nano, m.CollectionStart)
	if err != nil {
		bad := fmt.Errorf("manifest collection_start %q is not an RFC 3339 time", m.CollectionStart)
		if res, verr := manifest.VerifyDir(p.Dir); verr == nil && res.OK() {
			return nil, nil, verifyErr(fmt.Errorf("pack: %w", bad))
		}
		return nil, nil, refusePack(p.Dir, bad)
	}
	outputs := []Deliverer{Tar{Path: p.Out, KeepDir: true, CheckDir: true}}
	if p.Store != nil {
		outputs = append(outputs, Blob{Store: p.Store, Options: p.Upload, KeepArchive: true})
	}
	plan := p.Plan
	plan.Outputs = outputs
	r, err := Deliver(ctx, plan, &Sealed{Dir: p.Dir, Name: filepath.Base(p.Dir), Manifest: &m, Started: mtime})
	if err == nil && len(r.Deliveries) > 0 && r.Deliveries[0].Verified != nil && r.Deliveries[0].Verified.Manifest != nil {
		return r, r.Deliveries[0].Verified.Manifest, nil // as read back
	}
	return r, &m, err
}
