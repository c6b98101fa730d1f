package state

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/blob/azuritetest"
)

// blobState opens the state at the container's prefix through Open, as the
// CLI does, with the credential given (each call is a separate client, as
// a separate process would be).
func blobState(t *testing.T, srv *azuritetest.Server, container, prefix string, c blob.Credentials) *Blob {
	t.Helper()
	st, err := Open(srv.ContainerURL(container)+"/"+prefix, func(tg blob.Target) (*blob.Store, error) { return blob.NewStore(tg, c) })
	if err != nil {
		t.Fatal(err)
	}
	b, ok := st.(*Blob)
	if !ok {
		t.Fatalf("Open gave %T for a blob URL", st)
	}
	return b
}

// TestBlobLock: a second run is refused while the first holds the lease,
// with who holds it and until when, and changes nothing; after Unlock the
// next run takes it.
func TestBlobLock(t *testing.T) {
	srv := azuritetest.Start(t)
	srv.CreateContainer(t, "state")
	ctx := context.Background()
	cs := blob.Credentials{ConnectionString: srv.ConnectionString()}
	a := blobState(t, srv, "state", "tenants/contoso", cs)
	b := blobState(t, srv, "state", "tenants/contoso", cs)

	unlockA, err := a.Lock(ctx, Holder{PID: 4242, Host: "host-a", Since: "2026-11-24T01:15:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Read(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read of a new state: %v, want fs.ErrNotExist", err)
	}
	if err := a.Write(ctx, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}

	_, err = b.Lock(ctx, Holder{PID: 7, Host: "host-b"})
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	msg := err.Error()
	for _, want := range []string{"another export holds the lease on " + srv.ContainerURL("state") + "/tenants/contoso/lock",
		"(pid 4242 on host-a since 2026-11-24T01:15:00Z)", " until 20", "this run changed nothing"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q lacks %q", msg, want)
		}
	}
	if until, err := time.Parse(time.RFC3339, le.Until); err != nil || until.Before(time.Now()) {
		t.Errorf("until %q is not a future RFC 3339 time", le.Until)
	}
	// The refused store holds no lease, so it cannot write.
	if err := b.Write(ctx, []byte(`{"v":"b"}`)); err == nil || !strings.Contains(err.Error(), "without holding its lease") {
		t.Fatalf("write without the lease: %v", err)
	}
	if got, _ := b.Read(ctx); string(got) != `{"v":1}` {
		t.Fatalf("state after the refused run: %s", got)
	}

	if err := unlockA(); err != nil {
		t.Fatal(err)
	}
	if err := a.Write(ctx, []byte(`{"v":2}`)); err == nil {
		t.Fatal("write after unlock accepted")
	}
	unlockB, err := b.Lock(ctx, Holder{PID: 7, Host: "host-b"})
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	if _, err := b.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, []byte(`{"v":3}`)); err != nil {
		t.Fatal(err)
	}
	if err := unlockB(); err != nil {
		t.Fatal(err)
	}
}

// TestBlobConditionalWrite: a write over a version the run did not read is
// refused and leaves the other writer's document in place, both when the
// document changed and when it appeared after the run found none.
func TestBlobConditionalWrite(t *testing.T) {
	srv := azuritetest.Start(t)
	srv.CreateContainer(t, "state")
	ctx := context.Background()
	cs := blob.Credentials{ConnectionString: srv.ConnectionString()}
	raw, err := blob.NewStore(mustTarget(t, srv.ContainerURL("state")), cs) // a writer that ignores the lease
	if err != nil {
		t.Fatal(err)
	}

	// Appeared after the run found none: If-None-Match * refuses.
	a := blobState(t, srv, "state", "p", cs)
	unlock, err := a.Lock(ctx, Holder{PID: 1, Host: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := a.Read(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if _, err := raw.WriteBlob(ctx, "p/state.json", []byte(`{"other":1}`), "", "application/json"); err != nil {
		t.Fatal(err)
	}
	err = a.Write(ctx, []byte(`{"mine":1}`))
	if !errors.Is(err, blob.ErrChanged) || !strings.Contains(err.Error(), "changed by someone else since this run read it; not overwritten") {
		t.Fatalf("write over a document that appeared: %v", err)
	}

	// Changed after the run read it: If-Match on the stale ETag refuses.
	if got, err := a.Read(ctx); err != nil || string(got) != `{"other":1}` {
		t.Fatalf("read %s, %v", got, err)
	}
	if err := a.Write(ctx, []byte(`{"mine":2}`)); err != nil { // the version it read: accepted
		t.Fatal(err)
	}
	_, tag, err := raw.ReadBlob(ctx, "p/state.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.WriteBlob(ctx, "p/state.json", []byte(`{"other":2}`), tag, "application/json"); err != nil {
		t.Fatal(err)
	}
	if err := a.Write(ctx, []byte(`{"mine":3}`)); !errors.Is(err, blob.ErrChanged) {
		t.Fatalf("write over a stale ETag: %v", err)
	}
	if got, _, _ := raw.ReadBlob(ctx, "p/state.json"); string(got) != `{"other":2}` {
		t.Fatalf("the other writer's document was overwritten: %s", got)
	}
	// And the raw writer is refused with a stale ETag too.
	if _, err := raw.WriteBlob(ctx, "p/state.json", []byte(`x`), tag, "application/json"); !errors.Is(err, blob.ErrChanged) {
		t.Fatalf("raw write over a stale ETag: %v", err)
	}
}

// TestBlobLeaseRenewedAndExpires: the holder's lease outlives its duration
// because it is renewed; a holder that dies (stops renewing, never
// releases) blocks the next run only until the lease expires.
func TestBlobLeaseRenewedAndExpires(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a 15-second lease to expire")
	}
	srv := azuritetest.Start(t)
	srv.CreateContainer(t, "state")
	ctx := context.Background()
	cs := blob.Credentials{ConnectionString: srv.ConnectionString()}

	t.Run("renewed", func(t *testing.T) {
		t.Parallel()
		a := blobState(t, srv, "state", "renewed", cs)
		a.LeaseDuration, a.RenewEvery = blob.MinLease, 3*time.Second
		unlock, err := a.Lock(ctx, Holder{PID: 1, Host: "a"})
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		time.Sleep(blob.MinLease + 4*time.Second)
		b := blobState(t, srv, "state", "renewed", cs)
		if _, err := b.Lock(ctx, Holder{PID: 2, Host: "b"}); !errors.Is(err, ErrLocked) {
			t.Fatalf("lock while the holder renews: %v", err)
		}
		if err := a.RenewalError(); err != nil {
			t.Fatal(err)
		}
		if err := a.Write(ctx, []byte(`{}`)); err != nil {
			t.Fatalf("write after renewals: %v", err)
		}
	})
	t.Run("expires", func(t *testing.T) {
		t.Parallel()
		raw, err := blob.NewStore(mustTarget(t, srv.ContainerURL("state")), cs)
		if err != nil {
			t.Fatal(err)
		}
		// A run that took the lease and was killed: nobody renews or releases it.
		if _, err := raw.AcquireLease(ctx, "expires/lock", blob.MinLease, map[string]string{"pid": "9", "host": "dead"}); err != nil {
			t.Fatal(err)
		}
		b := blobState(t, srv, "state", "expires", cs)
		if _, err := b.Lock(ctx, Holder{PID: 2, Host: "b"}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid 9 on dead") {
			t.Fatalf("lock while the dead run's lease lasts: %v", err)
		}
		time.Sleep(blob.MinLease + 2*time.Second)
		unlock, err := b.Lock(ctx, Holder{PID: 2, Host: "b"})
		if err != nil {
			t.Fatalf("lock after the lease expired: %v", err)
		}
		unlock()
	})
}

// TestBlobSecretsNeverShown: a refused SAS and a connection string never
// appear in an error; a SAS in the URL is refused without echoing it.
func TestBlobSecretsNeverShown(t *testing.T) {
	srv := azuritetest.Start(t)
	srv.CreateContainer(t, "state")
	ctx := context.Background()
	good := srv.ContainerSAS(t, "state", "racw")
	forged := strings.Replace(good, "sig=", "sig=AAAA", 1)
	t.Setenv(blob.EnvSAS, forged)
	t.Setenv(blob.EnvConnectionString, "")
	st, err := Open(srv.ContainerURL("state")+"/p", nil) // the environment's credential
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	_, err = st.Lock(ctx, Holder{PID: 1})
	errs = append(errs, err)
	_, err = st.Read(ctx)
	errs = append(errs, err)
	_, err = Open(srv.ContainerURL("state")+"/p?"+good, nil)
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d succeeded with a forged SAS", i)
		}
		if m := err.Error(); strings.Contains(m, "sig=") || strings.Contains(m, forged) || strings.Contains(m, good) || strings.Contains(m, azuritetest.AccountKey) {
			t.Errorf("error %d carries a secret: %s", i, m)
		}
	}
	if !strings.Contains(errs[0].Error(), "HTTP 403") {
		t.Errorf("forged SAS: %v, want HTTP 403", errs[0])
	}

	// A valid SAS from the environment works end to end.
	t.Setenv(blob.EnvSAS, good)
	st, err = Open(srv.ContainerURL("state")+"/p", nil)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := st.Lock(ctx, Holder{PID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Read(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if err := st.Write(ctx, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if st.String() != srv.ContainerURL("state")+"/p" {
		t.Errorf("String() = %q", st.String())
	}
}

// TestOpenDispatch: a directory stays a Dir; a URL without a credential, or
// with two, is refused clearly.
func TestOpenDispatch(t *testing.T) {
	t.Setenv(blob.EnvSAS, "")
	t.Setenv(blob.EnvConnectionString, "")
	if st, err := Open(t.TempDir(), nil); err != nil {
		t.Fatal(err)
	} else if _, ok := st.(*Dir); !ok {
		t.Fatalf("a directory opened as %T", st)
	}
	if _, err := Open("https://acct.blob.core.windows.net/c/p", nil); err == nil {
		t.Fatal("a container name of one letter accepted")
	}
	_, err := Open("https://acct.blob.core.windows.net/state/p", nil)
	if err == nil || !strings.Contains(err.Error(), "no credential") {
		t.Fatalf("no credential: %v", err)
	}
	if _, err := Open("http://example.com/state/p", nil); err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("plain http off loopback: %v", err)
	}
}

func mustTarget(t *testing.T, u string) blob.Target {
	t.Helper()
	tg, err := blob.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestHolderMeta: the lock blob's metadata are valid header values.
func TestHolderMeta(t *testing.T) {
	m := holderMeta(Holder{PID: 12, Host: "hôte\n1"}, time.Date(2026, 11, 24, 1, 16, 0, 5, time.UTC))
	if m["pid"] != "12" || m["host"] != "h?te?1" || m["until"] != "2026-11-24T01:16:00Z" {
		t.Fatalf("metadata %v", m)
	}
	if _, ok := m["since"]; ok {
		t.Fatalf("empty since kept: %v", m)
	}
}
