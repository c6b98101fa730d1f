package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
)

// TestDeliveryPlan: the delivery flags are checked before anything is
// collected, each refusal a usage error naming the flag.
func TestDeliveryPlan(t *testing.T) {
	ok := func(f DeliveryFlags) DeliveryFlags {
		f.RetainMode, f.BlockSizeMiB, f.Concurrency = blob.ModeUnlocked, 4, 4
		return f
	}
	const url = "https://acct.blob.core.windows.net/evidence"
	for _, c := range []struct {
		f        DeliveryFlags
		allowDir bool
		want     string // error text; "" for a plan
	}{
		{ok(DeliveryFlags{Bundle: "tar"}), true, ""},
		{ok(DeliveryFlags{Bundle: "dir"}), true, ""},
		{ok(DeliveryFlags{Bundle: "dir"}), false, "--bundle"},
		{ok(DeliveryFlags{Bundle: "zip"}), true, "--bundle"},
		{ok(DeliveryFlags{Bundle: "blob"}), true, "needs --blob-url"},
		{ok(DeliveryFlags{Bundle: "tar", BlobURL: url}), true, "--blob-url is given"},
		{ok(DeliveryFlags{Bundle: "tar", Retain: "365d"}), true, "apply to a blob upload"},
		{ok(DeliveryFlags{Bundle: "tar,blob", BlobURL: url, Retain: "1.5d"}), true, ""},
		{ok(DeliveryFlags{Bundle: "blob", BlobURL: url, Retain: "30m"}), true, "at least 1h"},
		{ok(DeliveryFlags{Bundle: "blob", BlobURL: url, Retain: "1y"}), true, "--retain"},
		{DeliveryFlags{Bundle: "blob", BlobURL: url, RetainMode: "frozen", BlockSizeMiB: 4, Concurrency: 4}, true, "unlocked or locked"},
		{DeliveryFlags{Bundle: "blob", BlobURL: url, RetainMode: blob.ModeLocked, BlockSizeMiB: 0, Concurrency: 4}, true, "--block-size"},
		{DeliveryFlags{Bundle: "blob", BlobURL: url, RetainMode: blob.ModeLocked, BlockSizeMiB: 4, Concurrency: 65}, true, "--upload-concurrency"},
	} {
		p, err := c.f.Plan(c.allowDir)
		var pe *Error
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.f, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: error %v, want one with %q", c.f, err, c.want)
		case err != nil && (!errors.As(err, &pe) || pe.Kind != Usage):
			t.Errorf("%+v: %v is not a usage error", c.f, err)
		case c.want == "" && c.f.Retain == "1.5d" && (p.Upload.Retain != 36*time.Hour || !p.Tar || !p.Blob):
			t.Errorf("%+v: plan %+v", c.f, p)
		}
	}
}
