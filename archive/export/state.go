package export

import (
	"errors"
	"fmt"
	"strings"

	"github.com/evidence-dfir/evidence/archive/blob"
	"github.com/evidence-dfir/evidence/archive/pipeline"
	"github.com/evidence-dfir/evidence/archive/state"
	"github.com/evidence-dfir/evidence/collect"
)

// StateCredential returns the Entra ID credential a blob --state needs when
// the environment has no storage credential (EVIDENCE_BLOB_SAS,
// AZURE_STORAGE_CONNECTION_STRING): the one --auth signs in with, so that
// export makes one credential for Graph, the state and any --blob-url. It
// returns nil when none is needed or none can be made (then OpenState
// says which credential is missing).
func StateCredential(spec string, have collect.TokenSource, auth collect.AuthOptions) (collect.TokenSource, string, error) {
	if have != nil || !state.IsURL(spec) || auth.Method == "" || auth.Method == "token" {
		return have, "", nil
	}
	if c, err := blob.EnvCredentials(); err != nil || c.FromEnv() {
		return nil, "", nil // the environment's credential is used (or its error reported) by OpenState
	}
	c, id, err := collect.Credential(auth)
	if err != nil {
		return nil, "", &UsageError{err}
	}
	return c, id, nil
}

// OpenState opens --state: a directory, or a blob URL
// (https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX) reached with the
// environment's storage credential or, without one, the Entra ID
// credential (never a Graph bearer token, which storage does not accept).
// Its errors are usage errors.
func OpenState(spec string, cred collect.TokenSource, identity, method string) (state.Store, error) {
	st, err := state.Open(spec, func(t blob.Target) (*blob.Store, error) {
		c, err := blob.EnvCredentials()
		if err != nil {
			return nil, &UsageError{fmt.Errorf("--state: %w", err)}
		}
		if !c.FromEnv() && (cred == nil || method == "token" || method == "") {
			return nil, &UsageError{fmt.Errorf("--state %s: no credential for blob storage: set %s or %s, or use an Entra ID --auth method (%s)", t, blob.EnvSAS, blob.EnvConnectionString, strings.Join(collect.StorageAuthMethods(), ", "))}
		}
		return pipeline.OpenStore(t, cred, identity, method)
	})
	if err != nil {
		var ue *UsageError
		var pe *pipeline.Error
		if errors.As(err, &ue) || errors.As(err, &pe) {
			return nil, err
		}
		return nil, &UsageError{err}
	}
	return st, nil
}
