// Package msg holds the command line's own fixed messages (the run summary,
// warnings, the sign-in and network errors of collect.Explain, exit
// explanations) in English and Japanese, and picks the language from the
// locale. Records, file names, flags and log records (key=value lines) are
// never translated: they are evidence or meant for grep.
package msg

import (
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

//go:embed i18n/*.json
var files embed.FS

// Languages are the catalogues, English first.
var Languages = []string{"en", "ja"}

var catalogues = map[string]map[string]string{}

func init() {
	for _, l := range Languages {
		b, err := files.ReadFile("i18n/" + l + ".json")
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("msg catalogue %s: %v", l, err))
		}
		catalogues[l] = m
	}
}

// Locale is the language of the environment's locale (LC_ALL, then
// LC_MESSAGES, then LANG, the first one set, as POSIX orders them): "ja"
// for a Japanese locale, "en" otherwise.
func Locale() string {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := os.Getenv(k); v != "" {
			if strings.HasPrefix(strings.ToLower(v), "ja") {
				return "ja"
			}
			return "en"
		}
	}
	return "en"
}

// T is the message key in the locale's language, formatted with args as
// fmt.Sprintf does. An unknown key is returned as it is (a test keeps every
// key in every catalogue).
func T(key string, args ...any) string { return In(Locale(), key, args...) }

// In is T in a given language.
func In(lang, key string, args ...any) string {
	f, ok := catalogues[lang][key]
	if !ok {
		if f, ok = catalogues["en"][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return f
	}
	return fmt.Sprintf(f, args...)
}

// Keys lists the keys of a language's catalogue, sorted.
func Keys(lang string) []string {
	var k []string
	for key := range catalogues[lang] {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}
