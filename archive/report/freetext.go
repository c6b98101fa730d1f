package report

import (
	"regexp"
	"strings"
)

// The manifest's reasons and warnings are English sentences written by the
// collectors (they are evidence, sealed as written). A page in another
// language does not show them as they are: each known form is rewritten
// from the catalogue ("text.<key>", the English form's parts as
// arguments), and an unknown one is named by its status with only its
// technical tokens (error codes, HTTP statuses, addresses, times) and a
// pointer to manifest.json, which holds the exact English text.

type textForm struct {
	key string
	re  *regexp.Regexp
}

var textForms = []textForm{
	{"retention.tenant", regexp.MustCompile(`^older than the tenant's (\d+)-day retention \((.+)\)$`)},
	{"retention.max", regexp.MustCompile(`^older than the (\d+)-day maximum retention of Entra ID logs$`)},
	{"retention.export", regexp.MustCompile(`^older than the tenant's (\S+) retention for (\S+?)(?:\W.*)?: these records were deleted before this export reached them$`)},
	{"mt.old", regexp.MustCompile(`^older than message trace's (\d+)-day limit \(the service's clock read (\S+), so the oldest start it accepts is (\S+)\)$`)},
	{"mt.old.moved", regexp.MustCompile(`^older than message trace's (\d+)-day limit: .*$`)},
	{"mt.future", regexp.MustCompile(`^later than the service's clock \((\S+)\): message trace refuses an end in the future$`)},
	{"licence.premium", regexp.MustCompile(`^licence: sign-in logs readable, so Entra ID P1 or P2 \((\d+)-day retention\)$`)},
	{"licence.free", regexp.MustCompile(`^licence: sign-in logs refused with 403 (\S+), so Entra ID Free \((\d+)-day retention\)`)},
	{"licence.nopremium", regexp.MustCompile(`^licence: tenant has no Entra ID P1/P2[,:] (?:so )?sign-in logs cannot be read through Graph \((\S+)\)$`)},
	{"licence.probe", regexp.MustCompile(`^licence(?: probe)?: .*probe failed \((.*)\); assuming the (\d+)-day maximum retention`)},
	{"ual.queries", regexp.MustCompile(`^(\w+): (\d+) audit log quer(?:y|ies) submitted by this run \((\d+) over all runs of this collection\), (\d+) re-used from an interrupted run; the tenant allows at least (\d+) submissions per 24 h$`)},
	{"workspace.nouser", regexp.MustCompile(`^workspace: (\w+) not read: the table has no user column, so a per-user grab cannot select its rows \(it is read with --all-users\)$`)},
	{"parts", regexp.MustCompile(`^(\d+) of (\d+) (parts|objects) not collected; see .*$`)},
	{"msft.sp", regexp.MustCompile(`^(\d+) service principals? owned by Microsoft's tenants not asked \(first-party apps have no owners in the tenant\)$`)},
	{"signals.nosubject", regexp.MustCompile(`^no alert of the incident names a subject \(([^()]*)\)$`)},
	{"signals.nosubject.alert", regexp.MustCompile(`^no evidence of the alert names a subject \(([^()]*)\)$`)},
	{"signals.nosubject.ind", regexp.MustCompile(`^no alert of the incident names a subject \(([^()]*)\) or one of the (\d+) devices and (\d+) IP addresses of the subject's sign-ins$`)},
	{"signals.nosubject.alert.ind", regexp.MustCompile(`^no evidence of the alert names a subject \(([^()]*)\) or one of the (\d+) devices and (\d+) IP addresses of the subject's sign-ins$`)},
	{"signals.byind.incidents", regexp.MustCompile(`^(\d+) incidents are the subject's by a device or IP address of the subject's sign-ins, not by a user \((.*)\)$`)},
	{"signals.byind.alerts", regexp.MustCompile(`^(\d+) alerts are the subject's by a device or IP address of the subject's sign-ins, not by a user \((.*)\)$`)},
	{"signals.indcap", regexp.MustCompile(`^the subject's sign-ins name more than (\d+) devices or IP addresses; incidents and alerts were matched by the first (\d+) of each$`)},
	{"report.failed", regexp.MustCompile(`^report\.html could not be written: .*; the records are unaffected$`)},
	{"cut", regexp.MustCompile(`^cut after (\d+) pages at (\S+); the older part is its own sub-window$`)},
	{"noapps", regexp.MustCompile(`^no apps found through (.*): nothing to ask for$`)},
	{"diff.first", regexp.MustCompile(`^the first bundle of the series: nothing to compare with$`)},
	{"diff.previous", regexp.MustCompile(`^(?:the previous bundle could not be compared|changes since the previous bundle not computed): .*$`)},
	{"nomessage", regexp.MustCompile(`^no message with this internetMessageId in this mailbox$`)},
}

// Prefixes a collector puts before a service's own message (Classify).
var textPrefixes = []struct{ prefix, key string }{
	{"first: ", "first"},
	{"permission: ", "permission"},
	{"credentials refused: ", "credentials"},
	{"throttling budget: ", "throttled"},
	{"cancelled: ", "cancelled"},
	{"not queried: ", "notqueried"},
	{"superseded: ", "superseded"},
}

// technical are the parts of a sentence that are not words of a language:
// error codes, HTTP statuses, ids, addresses, times, paths.
var technical = regexp.MustCompile(`AADSTS\d+|\b[A-Z][A-Za-z]+_[A-Za-z_]+\b|\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b|\b[1-5]\d\d\b|\b\d{4}-\d\d-\d\dT[\d:.]+Z\b|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[\w.+-]+@[\w.-]+\.\w+|\b[\w.-]+\.(?:jsonl|json|csv)\b`)

// text renders a manifest reason or warning in the page's language.
// status (a manifest status, or "" for a warning) words the fallback.
func (c *catalog) text(s, status string) string {
	if c.lang == "en" || s == "" {
		return s
	}
	s = strings.TrimSpace(s)
	for _, f := range textForms {
		if m := f.re.FindStringSubmatch(s); m != nil {
			args := make([]any, len(m)-1)
			for i := range args {
				args[i] = m[i+1]
			}
			return c.S("text."+f.key, args...)
		}
	}
	for _, p := range textPrefixes {
		if rest, ok := strings.CutPrefix(s, p.prefix); ok {
			return c.S("text.prefix."+p.key, c.text(rest, status))
		}
	}
	// A source name before a colon ("ual: ...") stays; the rest is told.
	if i := strings.Index(s, ": "); i > 0 && !strings.ContainsAny(s[:i], " ") {
		return s[:i] + ": " + c.text(s[i+2:], status)
	}
	key := "text.unknown"
	if status != "" {
		key = "text.unknown." + status
	}
	toks := technical.FindAllString(s, 8)
	if len(toks) == 0 {
		return c.S(key)
	}
	return c.S(key) + " (" + strings.Join(uniq(toks), ", ") + ")"
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
