package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/collect/msg"
)

// TestJapaneseLocaleDemo runs the binary's demo with LANG=ja_JP.UTF-8: no
// fixed English text of the message catalogue, and no English sentence (a
// run of three English words), is on stderr outside the log records
// (time=... key=value lines, kept in English for grep), and the Japanese
// texts are there.
func TestJapaneseLocaleDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("a demo honours the reports budget: about 30 s")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	c := exec.Command(bin, "demo", "--out", dir)
	c.Env = append(os.Environ(), "LANG=ja_JP.UTF-8", "LC_ALL=", "LC_MESSAGES=")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Run(); err != nil {
		t.Fatalf("demo: %v\n%s", err, stderr.String())
	}
	var shown []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if !strings.HasPrefix(l, "time=") { // log records stay English, for grep
			shown = append(shown, l)
		}
	}
	text := strings.Join(shown, "\n")
	verb := regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)
	for _, k := range msg.Keys("en") {
		for _, piece := range verb.Split(msg.In("en", k), -1) {
			if piece = strings.TrimSpace(piece); len(piece) >= 10 && strings.Contains(text, piece) {
				t.Errorf("English %q (%s) on stderr under LANG=ja_JP.UTF-8", piece, k)
			}
		}
	}
	if m := regexp.MustCompile(`\b[A-Za-z]{3,} [a-z]{3,} [a-z]{3,}\b`).FindString(text); m != "" {
		t.Errorf("an English sentence on stderr under LANG=ja_JP.UTF-8: %q\n%s", m, text)
	}
	for _, k := range []string{"summary.verified", "warn.no-sign-key", "summary.unsigned"} {
		want := verb.Split(msg.In("ja", k), -1)[0]
		if !strings.Contains(text, want) {
			t.Errorf("%s in Japanese (%q) missing from stderr:\n%s", k, want, text)
		}
	}
}
