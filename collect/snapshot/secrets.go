package snapshot

import (
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// secretPaths are where Graph objects could carry a credential's secret
// value: passwordCredential.secretText, which Graph returns only once, when
// the secret is created, and as null on every read.
var secretPaths = []string{"passwordCredentials"}

// ScrubSecrets returns rec with every non-null passwordCredentials[].secretText
// set to null, and how many values it replaced. Every other byte of the
// record stays as it was (github.com/tidwall/sjson edits the value in place).
// A record without a secret value is returned unchanged.
func ScrubSecrets(rec []byte) ([]byte, int) {
	n := 0
	for _, p := range secretPaths {
		creds := gjson.GetBytes(rec, p)
		if !creds.IsArray() {
			continue
		}
		for i, c := range creds.Array() {
			v := c.Get("secretText")
			if !v.Exists() || v.Type == gjson.Null {
				continue
			}
			out, err := sjson.SetRawBytes(rec, p+"."+strconv.Itoa(i)+".secretText", []byte("null"))
			if err != nil {
				// Could not edit in place: drop the record's content rather
				// than write a secret.
				return []byte(`{"evidence_redacted":"record held a credential secret value and could not be edited"}`), n + 1
			}
			rec = out
			n++
		}
	}
	return rec, n
}
