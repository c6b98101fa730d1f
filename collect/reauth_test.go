package collect_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
)

// rotatingToken hands out an expired token first and the valid one after,
// as an azidentity credential does once its cached token is refused and it
// refreshes.
type rotatingToken struct {
	asked atomic.Int32
	fresh string
}

func (r *rotatingToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if r.asked.Add(1) == 1 {
		return azcore.AccessToken{Token: "expired-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
	}
	return azcore.AccessToken{Token: r.fresh, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestUnauthorizedAsksTheCredentialAgainOnce: a 401 makes the client ask the
// credential for a token once more, so a credential that can refresh goes
// on; a fixed token refused again ends the request with the 401.
func TestUnauthorizedAsksTheCredentialAgainOnce(t *testing.T) {
	srv, err := graphtest.NewServer(graphtest.Config{Token: mtToken, Now: mtNow, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func(cred collect.TokenSource) error {
		c, err := collect.New(collect.Options{GraphURL: srv.URL, Credential: cred})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetJSON(context.Background(), collect.ClassDirectory, "test", srv.URL+"/v1.0/organization")
		return err
	}
	rot := &rotatingToken{fresh: mtToken}
	if err := get(rot); err != nil || rot.asked.Load() != 2 {
		t.Fatalf("refreshing credential: err %v after %d token requests; want success after 2", err, rot.asked.Load())
	}
	err = get(collect.StaticToken("revoked"))
	if _, _, fatal := collect.Classify(err); !fatal {
		t.Fatalf("a fixed token refused twice: %v, want a fatal 401", err)
	}
}
