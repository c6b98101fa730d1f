package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/collect/graphtest"
	"github.com/evidence-dfir/evidence/collect/ual"
	"github.com/evidence-dfir/evidence/collect/workspace"
	"github.com/evidence-dfir/evidence/collect/workspace/lawtest"
)

// DemoWorkspace is the simulated Log Analytics workspace's id.
const DemoWorkspace = "5e0a1c2d-0000-4000-8000-00000000d3e0"

// Demo is what `evidence demo` runs against: the simulated tenant (P2,
// Graph's documented reports budget) and a simulated Log Analytics
// workspace holding the victim's rows of every table, both on loopback,
// accepting one random token.
type Demo struct {
	*graphtest.Server
	Law   *lawtest.Server
	Token string
	stop  context.CancelFunc
}

// StartDemo starts the demo's tenant and workspace from seed.
func StartDemo(seed int64) (*Demo, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	d := &Demo{Token: "demo-" + hex.EncodeToString(b)}
	srv, err := graphtest.NewServer(graphtest.Config{
		Seed:    seed,
		License: graphtest.License("p2"),
		Token:   d.Token,
		Reports: graphtest.Budget{Requests: collect.ReportsBudget.Requests, Per: collect.ReportsBudget.Per},
	})
	if err != nil {
		return nil, fmt.Errorf("starting the simulated tenant: %w", err)
	}
	d.Server = srv
	// The tenant's clock follows the wall clock: a grab's window ends at its
	// start, and message trace refuses an end later than the service's clock.
	ctx, stop := context.WithCancel(context.Background())
	srv.Tenant.FollowWallClock(ctx)
	d.stop = stop
	d.Law = lawtest.New(DemoWorkspace, d.Token)
	v, now := srv.Tenant.Victim(), time.Now().UTC()
	lawtest.Seed(d.Law, uint64(seed), []lawtest.User{{ID: v.ID, UPN: v.UPN}}, now.Add(-31*24*time.Hour), now.Add(time.Hour), lawtest.DemoRows)
	return d, nil
}

// Close stops the workspace and the tenant.
func (d *Demo) Close() {
	d.stop()
	d.Law.Close()
	d.Server.Close()
}

// Workspace are the workspace source's options for the simulated
// workspace (its endpoint and the client that trusts its certificate).
func (d *Demo) Workspace() workspace.Flags {
	return workspace.Flags{Options: workspace.Options{WorkspaceID: DemoWorkspace, Endpoint: d.Law.Endpoint(), Transport: d.Law.Client()}}
}

// UAL are the audit log source's options for the simulated tenant, whose
// queries finish in milliseconds: polled every 50 ms.
func (d *Demo) UAL() ual.Flags {
	return ual.Flags{Options: ual.Options{APIVersion: "beta", Concurrency: ual.DefaultConcurrency, PollInterval: 50 * time.Millisecond, QueryTimeout: 10 * time.Minute,
		PageSize: ual.DefaultPageSize, RecordLimit: ual.DefaultRecordLimit, MaxQueries: ual.DefaultMaxQueries}}
}
