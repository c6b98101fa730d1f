package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
)

func TestParseURL(t *testing.T) {
	ok := []struct{ in, service, container, path string }{
		{"https://acct.blob.core.windows.net/evidence", "https://acct.blob.core.windows.net", "evidence", ""},
		{"https://acct.blob.core.windows.net/evidence/", "https://acct.blob.core.windows.net", "evidence", ""},
		{"https://acct.blob.core.windows.net/evidence/case-7/2026", "https://acct.blob.core.windows.net", "evidence", "case-7/2026"},
		{"http://127.0.0.1:10000/devstoreaccount1/evidence/x", "http://127.0.0.1:10000/devstoreaccount1", "evidence", "x"},
		{"https://acct.blob.core.usgovcloudapi.net/c-1", "https://acct.blob.core.usgovcloudapi.net", "c-1", ""},
	}
	for _, tt := range ok {
		got, err := ParseURL(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if got.Service != tt.service || got.Container != tt.container || got.Path != tt.path {
			t.Errorf("%s: got %+v", tt.in, got)
		}
	}
	bad := []struct{ in, want string }{
		{"https://acct.blob.core.windows.net/evidence?sv=2024&sig=SECRETSIG", "query string"},
		{"http://acct.blob.core.windows.net/evidence", "plain http"},
		{"ftp://acct.blob.core.windows.net/evidence", "want https"},
		{"https://acct.blob.core.windows.net/", "no container"},
		{"https://acct.blob.core.windows.net/Evidence", "not a valid container"},
		{"https://acct.blob.core.windows.net/ev", "not a valid container"},
		{"https://acct.blob.core.windows.net/evidence/a//b", "empty"},
		{"https://acct.blob.core.windows.net/evidence/../b", "'..'"},
		{"https://user:pw@acct.blob.core.windows.net/evidence", "user information"},
	}
	for _, tt := range bad {
		_, err := ParseURL(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.in, err, tt.want)
			continue
		}
		for _, secret := range []string{"SECRETSIG", "pw@"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error echoes a secret: %v", tt.in, err)
			}
		}
	}
	tg, _ := ParseURL("https://acct.blob.core.windows.net/evidence/case 7")
	if u := tg.URL(tg.Join("a b.tar.zst")); u != "https://acct.blob.core.windows.net/evidence/case%207/a%20b.tar.zst" {
		t.Errorf("URL = %s", u)
	}
}

func TestBlockSize(t *testing.T) {
	for _, tt := range []struct{ asked, size, want int64 }{
		{0, 100, DefaultBlockSize},
		{1 << 20, 10 << 30, 1 << 20},
		{1 << 20, 100 << 30, 3 << 20}, // 100 GiB / 50,000 blocks needs > 2 MiB
	} {
		got, err := blockSize(tt.asked, tt.size)
		if err != nil || got != tt.want {
			t.Errorf("blockSize(%d, %d) = %d, %v; want %d", tt.asked, tt.size, got, err, tt.want)
		}
		if got*MaxBlocks < tt.size {
			t.Errorf("blockSize(%d, %d) = %d cannot hold the file in %d blocks", tt.asked, tt.size, got, MaxBlocks)
		}
	}
}

// archiveFile writes size pseudo-random bytes named like a bundle archive.
func archiveFile(t *testing.T, size int) (string, string) {
	t.Helper()
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(1, uint64(size)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	p := filepath.Join(t.TempDir(), "evidence-2026-11-20T06:00:00Z-3f2a9c1d.tar.zst")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return p, hex.EncodeToString(sum[:])
}

func connStore(t *testing.T, srv *azuritetest.Server, url string) *Store {
	t.Helper()
	tg, err := ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStore(tg, Credentials{ConnectionString: srv.ConnectionString()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestUploadAzurite: parallel blocks, read-back SHA-256, honest reporting of
// the immutability Azurite does not implement, and write-once.
func TestUploadAzurite(t *testing.T) {
	srv := azuritetest.Start(t)
	cc := srv.CreateContainer(t, "evidence")
	ctx := context.Background()
	path, sum := archiveFile(t, 5<<20+123)
	s := connStore(t, srv, srv.ContainerURL("evidence")+"/case-7")

	now := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	rc, err := s.Upload(ctx, path, sum, Options{BlockSize: 1 << 20, Concurrency: 3, Retain: 365 * 24 * time.Hour, LegalHold: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if !rc.SHA256Matches || rc.SHA256 != sum || rc.ContentLength != 5<<20+123 || rc.ETag == "" {
		t.Fatalf("receipt: %+v", rc)
	}
	if rc.Blocks != 6 || rc.BlockSize != 1<<20 {
		t.Errorf("blocks %d of %d, want 6 of 1 MiB", rc.Blocks, rc.BlockSize)
	}
	if rc.Blob != "case-7/evidence-2026-11-20T06:00:00Z-3f2a9c1d.tar.zst" || strings.Contains(rc.URL, "?") {
		t.Errorf("blob %q url %q", rc.Blob, rc.URL)
	}
	// Azurite accepts the headers and ignores them: nothing may be claimed.
	if rc.Immutable || rc.ReadBack.Until != "" || rc.ReadBack.LegalHold {
		t.Errorf("immutability claimed on Azurite: %+v", rc.ReadBack)
	}
	if rc.Requested.Until != "2027-11-20T06:00:00Z" || rc.Requested.Mode != ModeUnlocked || !rc.Requested.LegalHold {
		t.Errorf("requested: %+v", rc.Requested)
	}
	if len(rc.Warnings) != 1 || !strings.Contains(rc.Warnings[0], "NOT IMMUTABLE") {
		t.Errorf("warnings: %q", rc.Warnings)
	}
	if notes := strings.Join(rc.Notes, "\n"); !strings.Contains(notes, "HTTP 501") {
		t.Errorf("the refused Set Blob Immutability Policy / Legal Hold are not reported: %q", notes)
	}

	// An independent client sees the same bytes in 6 committed blocks.
	bc := cc.NewBlockBlobClient(rc.Blob)
	bl, err := bc.GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bl.CommittedBlocks) != 6 || len(bl.UncommittedBlocks) != 0 {
		t.Errorf("%d committed, %d uncommitted blocks", len(bl.CommittedBlocks), len(bl.UncommittedBlocks))
	}
	dl, err := bc.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dl.Body)
	want, _ := os.ReadFile(path)
	if !bytes.Equal(got, want) {
		t.Fatal("blob content differs from the file")
	}

	// The same name again is refused, and the blob is untouched.
	etag := rc.ETag
	other, osum := archiveFile(t, 1000)
	os.Rename(other, path)
	if _, err := s.Upload(ctx, path, osum, Options{}); !IsExists(err) {
		t.Fatalf("second upload: err = %v, want ErrExists", err)
	}
	p, err := bc.GetProperties(ctx, nil)
	if err != nil || string(*p.ETag) != etag {
		t.Errorf("the existing blob changed: %v", err)
	}
}

// TestUploadConditionalCommit: a blob that appears between the early check
// and the commit is not overwritten (If-None-Match: * on Put Block List).
func TestUploadConditionalCommit(t *testing.T) {
	srv := azuritetest.Start(t)
	cc := srv.CreateContainer(t, "evidence")
	ctx := context.Background()
	path, sum := archiveFile(t, 3<<20)
	s := connStore(t, srv, srv.ContainerURL("evidence"))
	name := filepath.Base(path)
	s.beforeCommit = func() {
		if _, err := cc.NewBlockBlobClient(name).UploadBuffer(ctx, []byte("someone else's"), nil); err != nil {
			t.Error(err)
		}
	}
	_, err := s.Upload(ctx, path, sum, Options{BlockSize: 1 << 20})
	if !IsExists(err) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	dl, err := cc.NewBlockBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(dl.Body)
	if string(b) != "someone else's" {
		t.Errorf("the blob was overwritten: %d bytes", len(b))
	}
}

// TestSASNeverInErrors: with a SAS whose signature is wrong, the refusal is
// reported without the SAS; with a valid SAS the upload works.
func TestSASNeverInErrors(t *testing.T) {
	srv := azuritetest.Start(t)
	srv.CreateContainer(t, "evidence")
	ctx := context.Background()
	good := srv.ContainerSAS(t, "evidence", "racw")
	tg, _ := ParseURL(srv.ContainerURL("evidence"))
	path, sum := archiveFile(t, 4096)

	forged := strings.Replace(good, "sig=", "sig=AAAA", 1)
	s, err := NewStore(tg, Credentials{SAS: forged})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Upload(ctx, path, sum, Options{})
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") {
		t.Fatalf("err = %v, want HTTP 403", err)
	}
	if strings.Contains(err.Error(), "sig") || strings.Contains(err.Error(), forged) {
		t.Errorf("error carries the SAS: %v", err)
	}

	s, err = NewStore(tg, Credentials{SAS: "?" + good})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Upload(ctx, path, sum, Options{AllowMutable: true})
	if err != nil {
		t.Fatal(err)
	}
	if j := string(rc.JSON()); strings.Contains(j, "sig=") || strings.Contains(j, good) || !strings.Contains(j, `"credential": "SAS from EVIDENCE_BLOB_SAS"`) {
		t.Errorf("receipt: %s", j)
	}
}

func TestConnectionStringMustMatchURL(t *testing.T) {
	srv := azuritetest.Start(t)
	tg, _ := ParseURL("https://other.blob.core.windows.net/evidence")
	_, err := NewStore(tg, Credentials{ConnectionString: srv.ConnectionString()})
	if err == nil || !strings.Contains(err.Error(), "different storage endpoint") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), azuritetest.AccountKey) {
		t.Error("error carries the account key")
	}
}

// TestList: List names the blobs directly under the target's path, relative
// to it, not those in deeper folders or beside it; with a SAS it needs the
// List permission, and a refusal names no secret.
func TestList(t *testing.T) {
	srv := azuritetest.Start(t)
	cc := srv.CreateContainer(t, "evidence")
	ctx := context.Background()
	for _, n := range []string{"contoso/b.tar.zst", "contoso/a.tar.zst", "contoso/old/c.tar.zst", "contoso-2/d.tar.zst", "e.tar.zst"} {
		if _, err := cc.NewBlockBlobClient(n).UploadBuffer(ctx, []byte(n), nil); err != nil {
			t.Fatal(err)
		}
	}
	names, err := connStore(t, srv, srv.ContainerURL("evidence")+"/contoso").List(ctx)
	if err != nil || !slices.Equal(names, []string{"a.tar.zst", "b.tar.zst"}) {
		t.Fatalf("List under contoso: %v %v", names, err)
	}
	if names, err := connStore(t, srv, srv.ContainerURL("evidence")).List(ctx); err != nil || !slices.Equal(names, []string{"e.tar.zst"}) {
		t.Fatalf("List of the container: %v %v", names, err)
	}
	tg, _ := ParseURL(srv.ContainerURL("evidence") + "/contoso")
	for perms, ok := range map[string]bool{"racwl": true, "racw": false} {
		sas := srv.ContainerSAS(t, "evidence", perms)
		s, err := NewStore(tg, Credentials{SAS: sas})
		if err != nil {
			t.Fatal(err)
		}
		names, err := s.List(ctx)
		if ok != (err == nil) || ok && len(names) != 2 {
			t.Errorf("List with a SAS %q: %v %v", perms, names, err)
		}
		if err != nil && strings.Contains(err.Error(), "sig=") {
			t.Errorf("the refusal carries the SAS: %v", err)
		}
	}
}
