package collect

import (
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
)

// builderURL is the URL an msgraph-sdk-go request builder made, with its
// query option names as Graph reads them.
//
// The builders' URL templates hold the names percent-encoded ("%24filter");
// Kiota's ParametersNameDecodingHandler turns them back into "$filter"
// before a request leaves, because the service does not take the encoded
// names as OData options (Kiota issues 1445 and 1651). The client leaves
// that handler out, since it also decodes characters in values and would
// rewrite nextLinks, so this function restores the names, and only the
// names, of URLs the tool builds itself. Values stay as the template
// encoded them; nextLinks never pass through here.
func builderURL(ri *abs.RequestInformation) (string, error) {
	u, err := ri.GetUri()
	if err != nil {
		return "", err
	}
	u.RawQuery = dollarNames(u.RawQuery)
	return u.String(), nil
}

// dollarNames rewrites a leading "%24" of each query parameter name to "$".
func dollarNames(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	parts := strings.Split(rawQuery, "&")
	for i, p := range parts {
		if len(p) > 3 && strings.EqualFold(p[:3], "%24") {
			parts[i] = "$" + p[3:]
		}
	}
	return strings.Join(parts, "&")
}
