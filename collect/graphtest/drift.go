package graphtest

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Drift names what Tenant.Drift changed, by id: the ground truth a
// comparison of two days' snapshots must report, and nothing else.
type Drift struct {
	At time.Time // when the changes were made
	// InboxRuleID is a new rule in the victim's inbox forwarding every
	// message to DriftForwardTo (outside the tenant).
	InboxRuleID string
	// AppID is the application ("HR Portal") given a new client secret,
	// KeyID that secret's keyId.
	AppID, KeyID string
	// PolicyID is the conditional access policy ("Require MFA for
	// administrators") switched from enabled to disabled.
	PolicyID string
}

// DriftForwardTo is where Drift's new inbox rule forwards mail.
const DriftForwardTo = "archive.mailbox@outlook.example"

// Drift makes three changes an attacker makes on a later day, at the given
// time: a new inbox rule forwarding outside, a new client secret on an app
// registration, and a conditional access policy disabled. Everything else
// the snapshot and posture serve stays as it was, so two collections either
// side of Drift differ by exactly these objects (Drift's ids).
//
// The snapshot data is shared by the request handlers without a lock: call
// Drift between collections, never while one is running. Calling it twice
// changes nothing more.
func (t *Tenant) Drift(at time.Time) Drift {
	d := t.snapshot()
	id := func(s string) string { return uuid.NewSHA1(t.ns, []byte("drift/"+s)).String() }
	at = at.UTC().Truncate(time.Second)
	out := Drift{At: at, InboxRuleID: id("rule/forward"), KeyID: id("cred/hr-portal-2")}

	victim := d.users[t.users[0].ID]
	if victim != nil && !hasID(victim.rules, out.InboxRuleID) {
		victim.rules = append(victim.rules, obj("id", out.InboxRuleID, "displayName", "Invoices", "sequence", len(victim.rules)+1,
			"isEnabled", true, "hasError", false, "isReadOnly", false,
			"conditions", obj("subjectContains", []string{"invoice"}),
			"actions", obj("forwardTo", rawJSON(`[{"emailAddress":{"name":"`+DriftForwardTo+`","address":"`+DriftForwardTo+`"}}]`),
				"stopProcessingRules", false)))
	}

	for _, a := range d.apps {
		if a.str("displayName") != "HR Portal" {
			continue
		}
		out.AppID = a.str("id")
		creds := string(a.vals["passwordCredentials"])
		if len(creds) > 2 && !strings.Contains(creds, out.KeyID) {
			secret := obj("customKeyIdentifier", nil, "displayName", "automation", "endDateTime", at.AddDate(1, 0, 0),
				"hint", "Zp4", "keyId", out.KeyID, "secretText", nil, "startDateTime", at)
			a.set("passwordCredentials", rawJSON(creds[:len(creds)-1]+","+string(secret.json(nil))+"]"))
		}
	}

	if d.posture != nil {
		for _, p := range d.posture.caPolicies {
			if p.str("displayName") == "Require MFA for administrators" {
				out.PolicyID = p.str("id")
				if p.str("state") != "disabled" {
					p.set("state", "disabled").set("modifiedDateTime", at)
				}
			}
		}
	}
	return out
}

func hasID(objs []*sobj, id string) bool {
	for _, o := range objs {
		if o.str("id") == id {
			return true
		}
	}
	return false
}
