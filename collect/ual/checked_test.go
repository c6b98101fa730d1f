package ual

import (
	"strings"
	"testing"
	"time"
)

// TestOptionsChecked: the --ual-* flags are checked before any request;
// a preset adds its operations once, whatever their case.
func TestOptionsChecked(t *testing.T) {
	ok := Options{APIVersion: "beta", Concurrency: 4, PollInterval: time.Second, QueryTimeout: time.Hour, PageSize: 10, RecordLimit: 10, MaxQueries: 10}
	o := ok
	o.Operations = []string{" new-inboxrule ", ""}
	got, err := o.Checked("mailbox-takeover")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, op := range got.Operations {
		if strings.EqualFold(op, "New-InboxRule") {
			n++
		}
	}
	if n != 1 || len(got.Operations) != len(Presets["mailbox-takeover"]) {
		t.Errorf("operations %q", got.Operations)
	}
	for _, c := range []struct {
		f    func(*Options)
		want string
	}{
		{func(o *Options) { o.APIVersion = "v2" }, "--ual-api-version"},
		{func(o *Options) { o.Concurrency = 51 }, "--ual-concurrency"},
		{func(o *Options) { o.Windows = -1 }, "--ual-windows"},
		{func(o *Options) { o.PollInterval = 0 }, "--ual-poll"},
		{func(o *Options) { o.PageSize = 0 }, "--ual-page-size"},
		{func(o *Options) { o.MaxQueries = 0 }, "--ual-max-queries"},
	} {
		o := ok
		c.f(&o)
		if _, err := o.Checked(""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.want, err)
		}
	}
	if _, err := ok.Checked("nosuch"); err == nil || !strings.Contains(err.Error(), "--preset") {
		t.Errorf("unknown preset: %v", err)
	}
}
