package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/snapshot"
)

// TestSnapshotSloppyLookalike puts a misbehaving proxy in front of the
// simulated tenant: it drops $filter from message searches (so every message
// of the mailbox comes back) and puts secret values into credentials. The
// bundle must still hold only the message asked for and no secret.
func TestSnapshotSloppyLookalike(t *testing.T) {
	srv := newSim(t, graphtest.Config{Seed: 3})
	per := srv.Tenant.Persistence()
	target, _ := url.Parse(srv.URL)
	const secret = "Zq8~notARealSecret.0123456789abcdefXYZ"
	proxy := httputil.NewSingleHostReverseProxy(target)
	director := proxy.Director
	proxy.Director = func(r *http.Request) {
		director(r)
		if strings.HasSuffix(r.URL.Path, "/messages") {
			// Drop $filter, keeping the other options as sent ($select, not
			// the %24select url.Values.Encode would write).
			var kept []string
			for _, part := range strings.Split(r.URL.RawQuery, "&") {
				if !strings.HasPrefix(part, "$filter=") {
					kept = append(kept, part)
				}
			}
			r.URL.RawQuery = strings.Join(kept, "&")
		}
	}
	proxy.ModifyResponse = func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		b = bytes.ReplaceAll(b, []byte(`"secretText":null`), []byte(`"secretText":"`+secret+`"`))
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	front := httptest.NewServer(proxy)
	defer front.Close()

	out := t.TempDir()
	args := []string{"grab", "--graph-url", front.URL, "--auth", "token", "--out", out, "--bundle", "dir",
		"--user", srv.Tenant.Victim().UPN, "--sources", "snapshot", "--tenant-objects", "--message-id", per.MessageID, "--retry-base", "1ms"}
	code, stdout, stderr := invoke(t, tokenEnv, args...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := lastLine(stdout)
	if hits := grepBundle(t, dir, []byte(secret)); len(hits) > 0 {
		t.Fatalf("secret value written to %v", hits)
	}
	if hits := grepBundle(t, dir, []byte("Q3 numbers")); len(hits) > 0 {
		t.Fatalf("MIME of a message not asked for written to %v", hits)
	}
	m := readManifest(t, dir)
	if len(m.Attachments) != 1 || m.Attachments[0].InternetMessageID != per.MessageID {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	if !strings.Contains(m.Sources[1].Windows[0].Reason, "1 message(s) with another internetMessageId") {
		t.Errorf("message window reason %q", m.Sources[1].Windows[0].Reason)
	}
	rep := readFindings(t, dir)
	// Marketing Dashboard (2 secrets) as owned and created object, plus the
	// tenant's applications list (3 secrets in all).
	if rep.RedactedSecrets != 2+2+3 {
		t.Errorf("redacted %d secret values", rep.RedactedSecrets)
	}
	checkPointers(t, dir, rep)
	if !findingSet(rep)[flag{snapshot.KindAppCredential, per.AppRegistrationID, per.NewSecretKeyID}] {
		t.Errorf("the new secret is no longer flagged after redaction: %+v", rep.Findings)
	}
}
