package kql

import (
	"strings"
	"testing"
	"time"
)

// Literals as the KQL reference writes them.
func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"megan@contoso.com":        `"megan@contoso.com"`,
		`a"b`:                      `"a\"b"`,
		`c:\temp`:                  `"c:\\temp"`,
		"x\ny\r\tz":                `"x\ny\r\tz"`,
		`o'brien@contoso.com`:      `"o'brien@contoso.com"`,
		`\"`:                       `"\\\""`,
		`" or 1==1 | take 100000 `: `"\" or 1==1 | take 100000 "`,
		"":                         `""`,
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %s, want %s", in, got, want)
		}
	}
}

// Whatever the value, the literal is one token: its only unescaped quotes
// are the delimiters, and it holds no raw line break; reading the escapes
// back gives the value.
func TestStringIsOneToken(t *testing.T) {
	for _, in := range []string{`"`, `\`, `\\"`, "a\"\n| union *", `"; DeviceEvents | take 1 //`, "é\"ü\\", "\r\n\"\\"} {
		lit := String(in)
		if strings.ContainsAny(lit, "\n\r") {
			t.Errorf("%q: raw line break in %q", in, lit)
		}
		var b strings.Builder
		body := lit[1 : len(lit)-1]
		for i := 0; i < len(body); i++ {
			c := body[i]
			if c == '"' {
				t.Fatalf("%q: unescaped quote inside %s", in, lit)
			}
			if c == '\\' {
				i++
				b.WriteByte(map[byte]byte{'\\': '\\', '"': '"', 'n': '\n', 'r': '\r', 't': '\t'}[body[i]])
				continue
			}
			b.WriteByte(c)
		}
		if lit[0] != '"' || lit[len(lit)-1] != '"' || b.String() != in {
			t.Errorf("%q: literal %s reads back as %q", in, lit, b.String())
		}
	}
}

func TestTime(t *testing.T) {
	at := time.Date(2026, 11, 20, 6, 0, 0, 120000000, time.FixedZone("x", 3600))
	if got := Time(at); got != "datetime(2026-11-20T05:00:00.12Z)" {
		t.Errorf("Time = %s", got)
	}
}
