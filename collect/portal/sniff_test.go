package portal

import (
	"bytes"
	"errors"
	"math/rand"
	"strings"
	"testing"
)

// TestSniff: content that cannot be a download is refused with what it
// looks like; downloads (CSV with a header, with or without BOM, JSON) pass,
// also when the 8 KiB window cuts a multi-byte character.
func TestSniff(t *testing.T) {
	random := make([]byte, sniffSize)
	rand.New(rand.NewSource(1)).Read(random)
	for name, c := range map[string]struct {
		head  []byte
		looks string
	}{
		"random":  {random, "binary data"},
		"empty":   {[]byte("\n \n"), "an empty file"},
		"zip":     {[]byte("PK\x03\x04\x14\x00rest"), "ZIP archive"},
		"utf-16":  {[]byte("\xff\xfeD\x00a\x00"), "UTF-16"},
		"html":    {[]byte("\n<!DOCTYPE html><html><body>Sign in</body></html>"), "HTML page"},
		"text":    {[]byte("hello world\nsecond line\n"), "plain text"},
		"latin-1": {[]byte("Date (UTC),Name\n2026-11-01T00:00:00Z,Jos\xe9\n"), "not UTF-8"},
		"tar":     {append(append(make([]byte, 257), "ustar\x0000"...), make([]byte, 300)...), "tar archive"},
	} {
		err := Sniff(c.head)
		var nd *NotDownloadError
		if !errors.As(err, &nd) || !strings.Contains(err.Error(), c.looks) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line saying %q", name, err, c.looks)
		}
	}
	csvHead := "Date (UTC),Request ID,User agent,Correlation ID,User ID,User,Username\n"
	cut := []byte(csvHead + strings.Repeat("2026-11-01T00:00:00Z,x,Müller,y,z,u,v\n", 300))[:sniffSize]
	for !bytes.HasSuffix(cut, []byte{0xc3}) { // end inside the ü
		cut = cut[:len(cut)-1]
	}
	for name, head := range map[string][]byte{
		"csv":       []byte(csvHead + "2026-11-01T00:00:00Z,a,b,c,d,e,f\n"),
		"csv bom":   []byte("\ufeff" + csvHead),
		"json":      []byte(`  [{"createdDateTime":"2026-11-01T00:00:00Z"}]`),
		"graph":     []byte(`{"@odata.context":"x","value":[]}`),
		"cut rune":  cut,
		"semicolon": []byte("Date (UTC);Request ID\n"),
	} {
		if err := Sniff(head); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
}
