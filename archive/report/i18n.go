package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"github.com/evidence-dfir/evidence/collect/msg"
	"html/template"
	"sort"
	"strconv"
	"strings"
)

// Languages the page is written in.
var Languages = []string{"en", "ja"}

// The message catalogue: one JSON object per language, key -> format string
// (fmt verbs with explicit argument indexes, %[1]s, so a translation can
// reorder them). Format strings are trusted markup; arguments are escaped.
//
//go:embed i18n/*.json
var catalogueFS embed.FS

type catalog struct {
	lang string
	msgs map[string]string
}

// catalogue loads the messages of lang.
func catalogue(lang string) (*catalog, error) {
	if lang == "" {
		lang = "en"
	}
	b, err := catalogueFS.ReadFile("i18n/" + lang + ".json")
	if err != nil {
		return nil, fmt.Errorf("report language %q: not one of %s", lang, strings.Join(Languages, ", "))
	}
	c := &catalog{lang: lang}
	if err := json.Unmarshal(b, &c.msgs); err != nil {
		return nil, fmt.Errorf("report catalogue %s: %w", lang, err)
	}
	return c, nil
}

// DefaultLang picks the page's language from the environment's locale
// (LC_ALL, then LC_MESSAGES, then LANG, as POSIX orders them): Japanese
// for a ja locale, English otherwise.
func DefaultLang() string { return msg.Locale() }

// ValidLang reports whether lang is a language of the catalogue.
func ValidLang(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

func (c *catalog) format(key string) string {
	f, ok := c.msgs[key]
	if !ok {
		return "[" + key + "]"
	}
	return f
}

// S formats a message as plain text (html/template escapes it where used).
func (c *catalog) S(key string, args ...any) string {
	f := c.format(key)
	if len(args) == 0 {
		return f
	}
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = plainArg(a)
	}
	return fmt.Sprintf(f, out...)
}

// T formats a message as HTML: the format is trusted markup, each argument
// is escaped unless it is already template.HTML.
func (c *catalog) T(key string, args ...any) template.HTML {
	f := c.format(key)
	if len(args) == 0 {
		return template.HTML(f)
	}
	out := make([]any, len(args))
	for i, a := range args {
		if h, ok := a.(template.HTML); ok {
			out[i] = string(h)
			continue
		}
		out[i] = template.HTMLEscapeString(plainArg(a))
	}
	return template.HTML(fmt.Sprintf(f, out...))
}

func plainArg(a any) string {
	switch v := a.(type) {
	case int:
		return num(int64(v))
	case int64:
		return num(v)
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// num writes an integer with thousands separators (1,000,000), as both
// English and Japanese write them.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// status names a manifest status.
func (c *catalog) status(s string) string {
	if _, ok := c.msgs["status."+s]; ok {
		return c.S("status." + s)
	}
	return s
}

// label names a record file: the adapter's key with its argument, which is
// itself translated when the catalogue knows it (e.g. "kind.interactive").
func (c *catalog) label(key, arg string) string {
	if arg == "" {
		return c.S(key)
	}
	norm := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(arg))
	if _, ok := c.msgs["kind."+norm]; ok {
		arg = c.S("kind." + norm)
	}
	return c.S(key, arg)
}

func (c *catalog) funcs() template.FuncMap {
	return template.FuncMap{
		"T":   c.T,
		"S":   c.S,
		"num": func(n int64) string { return num(n) },
		"dict": func(kv ...any) map[string]any {
			m := make(map[string]any, len(kv)/2)
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		},
		"size": func(n int64) string {
			switch {
			case n >= 1<<30:
				return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
			case n >= 1<<20:
				return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
			case n >= 1<<10:
				return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
			}
			return fmt.Sprintf("%d B", n)
		},
	}
}

// keys lists the catalogue's keys, sorted (for tests).
func (c *catalog) keys() []string {
	ks := make([]string, 0, len(c.msgs))
	for k := range c.msgs {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// OutName is the default file name of the page of the bundle name rendered
// outside it in lang: NAME.report.html in English, NAME.report.LANG.html in
// any other language, so rendering one language never overwrites another.
func OutName(bundleName, lang string) string {
	if lang == "" || lang == "en" {
		return bundleName + ".report.html"
	}
	return bundleName + ".report." + lang + ".html"
}
