package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	stdflag "flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/archive"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/evidence-dfir/evidence/manifest/seal"
)

// The bundle format's reference vectors (testdata/bundles/v1, described in
// its README.md and in docs/format.md): small bundles made from the
// simulator, and copies of the signed one tampered with in one way each.
// TestBundleVectors checks that `evidence verify` gives each the result
// recorded in vectors.json, as a directory and packed as NAME.tar.zst;
// manifest/seal's TestVectors checks the library.
//
// Regenerate them (a fresh signing key is made, used and discarded; only its
// public key is kept) with:
//
//	go test ./cmd/evidence -run TestBundleVectors -update
var update = stdflag.Bool("update", false, "regenerate testdata/bundles/v1 from the simulator")

const vectorsDir = "../../testdata/bundles/v1"

// vectorsPubKey is the public key of the signed vectors, beside them.
const vectorsPubKey = "signing-key.pub"

// vectorSpec is one vector as vectors.json records it.
type vectorSpec struct {
	Name string `json:"name"`
	// Made says how the vector was made, from which other vector.
	Made string `json:"made"`
	// Pubkey: verify with --pubkey signing-key.pub (the signed vectors).
	Pubkey bool `json:"pubkey"`
	// Exit is verify's exit code; Problems the (path, kind) of every
	// problem verify reports, sorted as verify sorts them.
	Exit     int             `json:"exit"`
	Problems []vectorProblem `json:"problems"`
}

type vectorProblem struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
}

type vectorFile struct {
	Format  string       `json:"format"`
	Vectors []vectorSpec `json:"vectors"`
}

// tamper is a vector made from valid-signed by changing it in one way.
type tamper struct {
	spec vectorSpec
	do   func(t *testing.T, dir string, g *vectorGen)
}

// vectorGen holds what the tampers need: the signed bundle's key files.
type vectorGen struct {
	tmp string
}

var tampers = []tamper{
	{vectorSpec{Name: "flipped-byte", Made: "valid-signed with the lowest bit of one byte of a record in signins/interactive.jsonl flipped (a digit of the first ipAddress)",
		Pubkey: true, Exit: ExitVerify, Problems: []vectorProblem{{"signins/interactive.jsonl", manifest.ProblemChanged}}},
		func(t *testing.T, dir string, _ *vectorGen) {
			p := filepath.Join(dir, "signins", "interactive.jsonl")
			b := mustRead(t, p)
			i := bytes.Index(b, []byte(`"ipAddress":"`))
			if i < 0 {
				t.Fatal("no ipAddress in signins/interactive.jsonl")
			}
			i += len(`"ipAddress":"`)
			b[i] ^= 1
			mustWrite(t, p, b)
		}},
	{vectorSpec{Name: "added-file", Made: "valid-signed with a file notes.txt added at the root",
		Pubkey: true, Exit: ExitVerify, Problems: []vectorProblem{{"notes.txt", manifest.ProblemAdded}}},
		func(t *testing.T, dir string, _ *vectorGen) {
			mustWrite(t, filepath.Join(dir, "notes.txt"), []byte("added after sealing\n"))
		}},
	{vectorSpec{Name: "removed-file", Made: "valid-signed with signins/interactive.csv removed",
		Pubkey: true, Exit: ExitVerify, Problems: []vectorProblem{{"signins/interactive.csv", manifest.ProblemMissing}}},
		func(t *testing.T, dir string, _ *vectorGen) {
			if err := os.Remove(filepath.Join(dir, "signins", "interactive.csv")); err != nil {
				t.Fatal(err)
			}
		}},
	{vectorSpec{Name: "forged-manifest", Made: "valid-signed with manifest.json's examiner changed and its SHA-256 in SHA256SUMS updated to match: the hashes agree, the signature of SHA256SUMS and the custody log's binding to it do not",
		Pubkey: true, Exit: ExitVerify, Problems: []vectorProblem{{"SHA256SUMS.sig", manifest.ProblemSignature}, {manifest.CustodyLogName, manifest.ProblemCustody}}},
		func(t *testing.T, dir string, _ *vectorGen) {
			mp := filepath.Join(dir, manifest.ManifestName)
			b := mustRead(t, mp)
			forged := bytes.Replace(b, []byte(`"examiner":"`), []byte(`"examiner":"Mallory, not `), 1)
			if bytes.Equal(forged, b) {
				t.Fatal("manifest.json has no examiner")
			}
			mustWrite(t, mp, forged)
			sp := filepath.Join(dir, manifest.SumsName)
			sums := mustRead(t, sp)
			old, now := sha256Hex(b), sha256Hex(forged)
			if !bytes.Contains(sums, []byte(old+"  "+manifest.ManifestName)) {
				t.Fatal("SHA256SUMS does not list manifest.json")
			}
			mustWrite(t, sp, bytes.Replace(sums, []byte(old), []byte(now), 1))
		}},
	{vectorSpec{Name: "wrong-key", Made: "valid-signed with SHA256SUMS.sig replaced by a valid signature of the same SHA256SUMS made with another, fresh key (discarded)",
		Pubkey: true, Exit: ExitVerify, Problems: []vectorProblem{{"SHA256SUMS.sig", manifest.ProblemSignature}}},
		func(t *testing.T, dir string, g *vectorGen) {
			prefix := filepath.Join(g.tmp, "other-signer")
			if _, err := seal.GenerateKey(prefix, []byte(testPassphrase), "another signer"); err != nil {
				t.Fatal(err)
			}
			s, err := seal.LoadSigningKey(prefix+".key", func() ([]byte, error) { return []byte(testPassphrase), nil })
			if err != nil {
				t.Fatal(err)
			}
			sig, err := seal.SignBytes(mustRead(t, filepath.Join(dir, manifest.SumsName)), s, seal.SignatureNamespace)
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(dir, manifest.SigName), sig)
		}},
	{vectorSpec{Name: "edited-custody", Made: "valid-signed with the actor of the custody log's first entry changed",
		Pubkey: true, Exit: ExitVerify, Problems: []vectorProblem{{manifest.CustodyLogName, manifest.ProblemCustody}}},
		func(t *testing.T, dir string, _ *vectorGen) {
			p := filepath.Join(dir, manifest.CustodyLogName)
			b := mustRead(t, p)
			edited := bytes.Replace(b, []byte(`"actor":"`), []byte(`"actor":"Mallory, not `), 1)
			if bytes.Equal(edited, b) {
				t.Fatal("the custody log has no actor")
			}
			mustWrite(t, p, edited)
		}},
	{vectorSpec{Name: "planted-minisig", Made: "valid-signed with a SHA256SUMS.minisig planted beside SHA256SUMS (this tool never writes or checks one)",
		Pubkey: true, Exit: ExitVerify, Problems: []vectorProblem{{"SHA256SUMS.minisig", manifest.ProblemAdded}}},
		func(t *testing.T, dir string, _ *vectorGen) {
			mustWrite(t, filepath.Join(dir, "SHA256SUMS.minisig"), []byte("untrusted comment: signature from minisign secret key\nRWQBAAAAR0lTSA==\n"))
		}},
}

// TestBundleVectors runs `evidence verify` on every vector and compares
// its exit code and problems with vectors.json; with -update it first
// makes the vectors again.
func TestBundleVectors(t *testing.T) {
	if *update {
		generateVectors(t)
	}
	vf := readVectors(t)
	if len(vf.Vectors) != 3+len(tampers) {
		t.Fatalf("vectors.json lists %d vectors, want %d", len(vf.Vectors), 3+len(tampers))
	}
	readme := string(mustRead(t, filepath.Join(vectorsDir, "README.md")))
	if readme != vectorsReadme(vf) {
		t.Error("testdata/bundles/v1/README.md does not match vectors.json: run go test ./cmd/evidence -run TestBundleVectors -update")
	}
	for _, v := range vf.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			var args []string
			if v.Pubkey {
				args = append(args, "--pubkey", filepath.Join(vectorsDir, vectorsPubKey))
			}
			args = append(args, filepath.Join(vectorsDir, v.Name))
			code, stdout, stderr := invoke(t, nil, append([]string{"verify", "--json"}, args...)...)
			if code != v.Exit {
				t.Fatalf("verify exit %d, want %d\n%s%s", code, v.Exit, stdout, stderr)
			}
			var out struct {
				OK       bool               `json:"ok"`
				Problems []manifest.Problem `json:"problems"`
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("verify --json: %v\n%s", err, stdout)
			}
			if got := problemKeys(out.Problems); !slices.Equal(got, v.Problems) {
				t.Errorf("problems %v, want %v\n%s", got, v.Problems, stdout)
			}
			if out.OK != (v.Exit == ExitOK) {
				t.Errorf("ok %v with exit %d", out.OK, v.Exit)
			}
			// The plain output names each problem's path and kind.
			_, text, _ := invoke(t, nil, append([]string{"verify"}, args...)...)
			for _, p := range v.Problems {
				if !strings.Contains(text, fmt.Sprintf("%-12s %s", p.Kind, p.Path)) {
					t.Errorf("verify's output does not name %s %s:\n%s", p.Kind, p.Path, text)
				}
			}
			// The same bundle as NAME.tar.zst, without the custody log that
			// evidence writes beside every archive, gives the same result
			// plus that log missing.
			arch := filepath.Join(t.TempDir(), v.Name+manifest.ArchiveSuffix)
			f, err := os.Create(arch)
			if err != nil {
				t.Fatal(err)
			}
			if err := archive.WriteTarZst(f, filepath.Join(vectorsDir, v.Name), v.Name, fixedNow); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			args[len(args)-1] = arch
			code, stdout, _ = invoke(t, nil, append([]string{"verify", "--json"}, args...)...)
			out.Problems = nil
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("verify --json of the archive: %v\n%s", err, stdout)
			}
			want, wantCode := v.Problems, v.Exit
			if _, err := os.Stat(filepath.Join(vectorsDir, v.Name, manifest.CustodyLogName)); err == nil {
				want, wantCode = append([]vectorProblem{{v.Name + manifest.CustodySuffix, manifest.ProblemMissing}}, v.Problems...), ExitVerify
			}
			slices.SortFunc(want, func(a, b vectorProblem) int { return strings.Compare(a.Path+"\x00"+a.Kind, b.Path+"\x00"+b.Kind) })
			if got := problemKeys(out.Problems); code != wantCode || !slices.Equal(got, want) {
				t.Errorf("as an archive: exit %d, problems %v; want %d, %v\n%s", code, got, wantCode, want, stdout)
			}
		})
	}
}

func problemKeys(ps []manifest.Problem) []vectorProblem {
	out := []vectorProblem{}
	for _, p := range ps {
		out = append(out, vectorProblem{p.Path, p.Kind})
	}
	return out
}

func readVectors(t *testing.T) *vectorFile {
	t.Helper()
	var vf vectorFile
	if err := json.Unmarshal(mustRead(t, filepath.Join(vectorsDir, "vectors.json")), &vf); err != nil {
		t.Fatal(err)
	}
	if vf.Format != "evidence-vectors/1" {
		t.Fatalf("vectors.json format %q", vf.Format)
	}
	return &vf
}

// generateVectors makes every vector again from the simulator.
func generateVectors(t *testing.T) {
	g := &vectorGen{tmp: t.TempDir()}
	// A small tenant: the seeded compromise without background activity;
	// one day of interactive sign-ins, the day of the compromise.
	srv := newSim(t, graphtest.Config{Seed: 1, SignInsPerUser: -1, AuditsPerUser: -1, NonInteractivePerUser: -1, AppSignIns: -1, MailPerUser: -1})
	prefix := filepath.Join(g.tmp, "signer")
	if _, err := seal.GenerateKey(prefix, []byte(testPassphrase), "reference vectors"); err != nil {
		t.Fatal(err)
	}
	grab := func(extra ...string) string {
		out := t.TempDir()
		args := grabArgs(srv, out, append([]string{"--user", "victim@contoso.com", "--sources", "signins", "--signin-kinds", "interactive",
			"--bundle", "dir", "--lang", "en", "--examiner", "Reference Vectors",
			"--since", "2026-11-15", "--until", "2026-11-16", "--split", "1d"}, extra...)...)
		code, stdout, stderr := invoke(t, keyEnv, args...)
		if code != ExitOK {
			t.Fatalf("grab exit %d\n%s", code, stderr)
		}
		return lastLine(stdout)
	}
	made := map[string]string{
		"valid-signed":   grab("--sign-key", prefix+".key"),
		"valid-unsigned": grab(),
	}
	// The grab's CSV has the admin center download's columns: named like the
	// download, it is the portal file a person would import.
	download := filepath.Join(g.tmp, "InteractiveSignIns_2026-11-15_2026-11-16.csv")
	if err := os.WriteFile(download, mustRead(t, filepath.Join(made["valid-unsigned"], "signins", "interactive.csv")), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, stdout, stderr := invoke(t, nil, "import", "--out", out, "--bundle", "dir", "--examiner", "Reference Vectors",
		"--note", "the simulator's interactive sign-ins as the Entra admin center downloads them", download)
	if code != ExitOK {
		t.Fatalf("import exit %d\n%s", code, stderr)
	}
	made["imported"] = lastLine(stdout)

	if err := os.RemoveAll(vectorsDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(vectorsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	vf := &vectorFile{Format: "evidence-vectors/1"}
	for _, v := range []vectorSpec{
		{Name: "valid-signed", Made: "evidence grab of victim@contoso.com's interactive sign-ins on 2026-11-15 (the day of the seeded compromise) from the simulator (seed 1, no background activity), --bundle dir, --sign-key with a fresh Ed25519 key (public key: signing-key.pub)", Pubkey: true},
		{Name: "valid-unsigned", Made: "the same grab without --sign-key: an unsigned bundle (verify notes UNSIGNED and passes)"},
		{Name: "imported", Made: "evidence import --bundle dir of InteractiveSignIns_2026-11-15_2026-11-16.csv, valid-unsigned's signins/interactive.csv (the admin center download's columns) under the download's name (unsigned: import does not sign yet)"},
	} {
		copyTree(t, made[v.Name], filepath.Join(vectorsDir, v.Name))
		v.Problems = []vectorProblem{}
		vf.Vectors = append(vf.Vectors, v)
	}
	for _, tp := range tampers {
		dir := filepath.Join(vectorsDir, tp.spec.Name)
		copyTree(t, filepath.Join(vectorsDir, "valid-signed"), dir)
		tp.do(t, dir, g)
		vf.Vectors = append(vf.Vectors, tp.spec)
	}
	if err := os.Rename(prefix+".pub", filepath.Join(vectorsDir, vectorsPubKey)); err != nil {
		t.Fatal(err)
	}
	// The private keys stay in the temporary directory, removed with it.
	b, err := json.MarshalIndent(vf, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(vectorsDir, "vectors.json"), append(b, '\n'))
	mustWrite(t, filepath.Join(vectorsDir, "README.md"), []byte(vectorsReadme(vf)))
	filepath.WalkDir(vectorsDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".key") {
			t.Fatalf("a private key in the vectors: %s", p)
		}
		return err
	})
}

// vectorsReadme renders README.md of the vectors from vectors.json.
func vectorsReadme(vf *vectorFile) string {
	var b strings.Builder
	b.WriteString(`# Bundle format v1: reference vectors

Small bundles of format ` + "`" + manifest.Format + "`" + ` (docs/format.md) and the result
` + "`evidence verify`" + ` must give for each. Every future version of the tool must read them
and give the same results: ` + "`go test ./cmd/evidence -run TestBundleVectors`" + ` (the CLI) and
` + "`go test ./manifest/seal -run TestVectors`" + ` (the library) check it.

They were made from the simulated tenant (collect/graphtest) by

    go test ./cmd/evidence -run TestBundleVectors -update

which makes a fresh Ed25519 signing key, signs with it and discards it: only its public key
is kept, as ` + "`" + vectorsPubKey + "`" + `. No private key, token or secret is in these files.
The tampered vectors are copies of ` + "`valid-signed`" + ` changed in one way each.
` + "`vectors.json`" + ` holds the table below for programs. Run one by hand:

    evidence verify --pubkey testdata/bundles/v1/signing-key.pub testdata/bundles/v1/flipped-byte

| vector | how it was made | verify | exit | problems (kind: path) |
|---|---|---|---|---|
`)
	for _, v := range vf.Vectors {
		flags := "`verify`"
		if v.Pubkey {
			flags = "`verify --pubkey " + vectorsPubKey + "`"
		}
		var ps []string
		for _, p := range v.Problems {
			ps = append(ps, fmt.Sprintf("%s: `%s`", p.Kind, p.Path))
		}
		if len(ps) == 0 {
			ps = []string{"none"}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %d | %s |\n", v.Name, v.Made, flags, v.Exit, strings.Join(ps, "; "))
	}
	b.WriteString(`
Exit codes: 0 verified, 4 verification failed (docs/cli.md). The problem kinds are defined in
docs/format.md ("Verification").
`)
	return b.String()
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustWrite(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sha256Hex is the lower-case hex SHA-256 of b, as SHA256SUMS lists it.
func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
