package seal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/manifest"
)

// TestVectors verifies the bundle format's reference vectors
// (testdata/bundles/v1, see its README.md) with the library, as `evidence
// verify` does: manifest.VerifyDir, then Check trusting signing-key.pub for the
// signed vectors. Each must give exactly the problems vectors.json records;
// the valid ones none. cmd/evidence's TestBundleVectors checks the CLI.
func TestVectors(t *testing.T) {
	const dir = "../../testdata/bundles/v1"
	b, err := os.ReadFile(filepath.Join(dir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vf struct {
		Format  string `json:"format"`
		Vectors []struct {
			Name     string `json:"name"`
			Pubkey   bool   `json:"pubkey"`
			Exit     int    `json:"exit"`
			Problems []struct {
				Path string `json:"path"`
				Kind string `json:"kind"`
			} `json:"problems"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &vf); err != nil || vf.Format != "evidence-vectors/1" || len(vf.Vectors) == 0 {
		t.Fatalf("vectors.json: format %q, %d vectors, %v", vf.Format, len(vf.Vectors), err)
	}
	trusted, err := ReadPublicKeys(filepath.Join(dir, "signing-key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vf.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			res, err := manifest.VerifyDir(filepath.Join(dir, v.Name))
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{}
			if v.Pubkey {
				opts.Trusted, opts.RequireSignature = trusted, true
			}
			Check(res, opts)
			var got, want []string
			for _, p := range res.Problems {
				got = append(got, p.Kind+" "+p.Path)
			}
			for _, p := range v.Problems {
				want = append(want, p.Kind+" "+p.Path)
			}
			if !slices.Equal(got, want) {
				t.Errorf("problems %q, want %q\n%s", got, want, problemText(res))
			}
			if res.OK() != (v.Exit == 0) {
				t.Errorf("OK %v, exit %d in vectors.json", res.OK(), v.Exit)
			}
			if v.Exit == 0 && (res.Manifest == nil || res.Manifest.Format != manifest.Format) {
				t.Errorf("a valid vector without a manifest of format %s", manifest.Format)
			}
		})
	}
}

func problemText(res *manifest.Result) string {
	var b strings.Builder
	for _, p := range res.Problems {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}
