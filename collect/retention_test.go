package collect

import (
	"testing"
	"time"
)

func TestRetentionTable(t *testing.T) {
	for _, c := range []struct {
		source, tier string
		want         time.Duration
	}{
		{"signins", LicenseFree, 7 * day}, {"signins", LicensePremium, 30 * day}, {"signins", LicenseUnknown, 30 * day},
		{"audits", LicenseFree, 7 * day}, {"audits", "", 30 * day},
		{"ual", LicenseFree, 180 * day}, {"ual", LicensePremium, 180 * day},
		{"messagetrace", LicenseFree, MessageTraceMaxAge}, {"nothing", LicenseFree, 0},
	} {
		if got := Retention(c.source, c.tier); got != c.want {
			t.Errorf("Retention(%q, %q) = %v, want %v", c.source, c.tier, got, c.want)
		}
	}
}
