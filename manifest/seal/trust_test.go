package seal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/manifest/seal"
)

// TestAllowedSigners: the options ssh-keygen applies (namespaces with
// wildcards, valid-after, valid-before) decide Lookup; lines ssh-keygen
// would read differently are refused with their line number.
func TestAllowedSigners(t *testing.T) {
	_, s := newKey(t)
	_, other := newKey(t)
	key := seal.AuthorizedKey(s.PublicKey())
	file := "# team\n\n" +
		"alice@example.org,ir@example.org " + key + " alice's laptop\n" +
		`bob namespaces="evidence-cust*" ` + seal.AuthorizedKey(other.PublicKey()) + "\n" +
		`carol valid-after="20260101",valid-before="202701010000Z" ` + seal.AuthorizedKey(other.PublicKey()) + "\n"
	tk, err := seal.ParseAllowedSigners([]byte(file), "signers")
	if err != nil || tk.Len() != 3 {
		t.Fatalf("parse: %v, %d keys", err, tk.Len())
	}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	if k, ok, _ := tk.Lookup(s.PublicKey(), seal.SignatureNamespace, at); !ok || k.Principals != "alice@example.org,ir@example.org" || k.Line != 3 {
		t.Errorf("alice: %+v %v", k, ok)
	}
	for _, c := range []struct {
		ns   string
		at   time.Time
		ok   bool
		line int
	}{
		{seal.CustodyNamespace, at, true, 4},                                             // bob's namespace pattern
		{seal.SignatureNamespace, at, true, 5},                                           // carol, inside her validity
		{seal.SignatureNamespace, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), false, 0}, // valid-before is exclusive
		{seal.SignatureNamespace, time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), false, 0},
	} {
		k, ok, why := tk.Lookup(other.PublicKey(), c.ns, c.at)
		if ok != c.ok || k.Line != c.line || (!ok && why == "") {
			t.Errorf("%s at %s: line %d ok %v (%s), want line %d ok %v", c.ns, c.at, k.Line, ok, why, c.line, c.ok)
		}
	}
	for name, bad := range map[string]string{
		"cert-authority": "ca@example.org cert-authority " + key,
		"no principal":   key,
		"unknown option": "x restrict " + key,
		"bad time":       `x valid-after="2026" ` + key,
		"not a key":      "x ssh-ed25519 !!!",
		"only a comment": "# nobody",
	} {
		if _, err := seal.ParseAllowedSigners([]byte("\n"+bad+"\n"), "f"); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err %v, want one line", name, err)
		} else if name != "only a comment" && !strings.Contains(err.Error(), "f line 2") {
			t.Errorf("%s: %v does not name the line", name, err)
		}
	}
}
