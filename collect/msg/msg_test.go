package msg

import (
	"regexp"
	"slices"
	"testing"
)

var verb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// TestCataloguesAgree: every key is in every catalogue, each translation
// takes the same arguments in the same order, and no Japanese message is
// left in English (a run of three English words outside flags, names and
// URLs).
func TestCataloguesAgree(t *testing.T) {
	en := Keys("en")
	if len(en) == 0 {
		t.Fatal("empty English catalogue")
	}
	english := regexp.MustCompile(`\b[a-z]{3,} [a-z]{3,} [a-z]{3,}\b`)
	for _, l := range Languages[1:] {
		if got := Keys(l); !slices.Equal(got, en) {
			t.Errorf("%s keys differ from en:\n%v\n%v", l, got, en)
		}
		for _, k := range en {
			e, x := catalogues["en"][k], catalogues[l][k]
			if ve, vx := verb.FindAllString(e, -1), verb.FindAllString(x, -1); !slices.Equal(ve, vx) {
				t.Errorf("%s %s: arguments %v, English %v", l, k, vx, ve)
			}
			if l == "ja" && english.MatchString(x) {
				t.Errorf("ja %s is English: %q", k, x)
			}
		}
	}
}

func TestLocale(t *testing.T) {
	for _, c := range []struct{ all, messages, lang, want string }{
		{"", "", "ja_JP.UTF-8", "ja"},
		{"", "ja_JP.UTF-8", "en_US.UTF-8", "ja"},
		{"C", "ja_JP.UTF-8", "ja_JP.UTF-8", "en"},
		{"", "", "", "en"},
		{"ja_JP.eucJP", "", "", "ja"},
	} {
		t.Setenv("LC_ALL", c.all)
		t.Setenv("LC_MESSAGES", c.messages)
		t.Setenv("LANG", c.lang)
		if got := Locale(); got != c.want {
			t.Errorf("LC_ALL=%q LC_MESSAGES=%q LANG=%q: %s, want %s", c.all, c.messages, c.lang, got, c.want)
		}
	}
	t.Setenv("LC_ALL", "ja_JP.UTF-8")
	if got := T("summary.sha256", "abc"); got != "バンドルの SHA-256: abc" {
		t.Errorf("T in ja: %q", got)
	}
}
