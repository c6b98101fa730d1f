package blob

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// Environment variables that carry storage secrets. They are read only from
// the environment, never from flags.
const (
	EnvSAS              = "EVIDENCE_BLOB_SAS"               // a SAS token (the query string, with or without '?')
	EnvConnectionString = "AZURE_STORAGE_CONNECTION_STRING" // a storage connection string
)

// Credentials authorise requests to the storage account. Exactly one kind
// is used: SAS, ConnectionString or Token.
type Credentials struct {
	SAS              string
	ConnectionString string
	Token            azcore.TokenCredential
	// TokenIdentity describes Token for the receipt (never a secret).
	TokenIdentity string
}

// EnvCredentials reads a SAS or a connection string from the environment;
// both set is an error. It returns the zero Credentials when neither is set.
func EnvCredentials() (Credentials, error) {
	c := Credentials{SAS: strings.TrimSpace(os.Getenv(EnvSAS)), ConnectionString: strings.TrimSpace(os.Getenv(EnvConnectionString))}
	if c.SAS != "" && c.ConnectionString != "" {
		return Credentials{}, fmt.Errorf("both %s and %s are set: unset one, so that it is clear which credential wrote the blob", EnvSAS, EnvConnectionString)
	}
	return c, nil
}

// FromEnv reports whether the credentials came from the environment.
func (c Credentials) FromEnv() bool { return c.SAS != "" || c.ConnectionString != "" }

// Describe says which credential is used, for the receipt; never a secret.
func (c Credentials) Describe() string {
	switch {
	case c.SAS != "":
		return "SAS from " + EnvSAS
	case c.ConnectionString != "":
		return "connection string from " + EnvConnectionString
	case c.Token != nil:
		if c.TokenIdentity != "" {
			return "Entra ID: " + c.TokenIdentity
		}
		return "Entra ID token"
	}
	return "none"
}

// Store is a blob Target with the credentials to reach it.
type Store struct {
	target  Target
	creds   Credentials
	secrets []string // every secret string, to scrub from errors

	beforeCommit func() // test hook: runs between staging and committing
}

// NewStore checks the credentials against the target.
func NewStore(t Target, c Credentials) (*Store, error) {
	if !c.FromEnv() && c.Token == nil {
		return nil, fmt.Errorf("no credential for %s: set %s or %s in the environment, or use --auth with an Entra ID sign-in method", t, EnvSAS, EnvConnectionString)
	}
	s := &Store{target: t, creds: c}
	if c.SAS != "" {
		c.SAS = strings.TrimPrefix(c.SAS, "?")
		s.creds.SAS = c.SAS
		if _, err := url.ParseQuery(c.SAS); err != nil {
			return nil, fmt.Errorf("%s is not a SAS query string", EnvSAS)
		}
		s.secrets = append(s.secrets, c.SAS)
		if q, _ := url.ParseQuery(c.SAS); q.Get("sig") != "" {
			s.secrets = append(s.secrets, q.Get("sig"), url.QueryEscape(q.Get("sig")))
		}
	}
	if c.ConnectionString != "" {
		s.secrets = append(s.secrets, c.ConnectionString)
		for _, part := range strings.Split(c.ConnectionString, ";") {
			k, v, _ := strings.Cut(part, "=")
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "accountkey", "sharedaccesssignature":
				if len(v) > 0 {
					s.secrets = append(s.secrets, v)
				}
			}
		}
		// Check now that the connection string points where the URL says.
		if _, err := s.client(t.Join("x")); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Target is where the store points.
func (s *Store) Target() Target { return s.target }

func clientOptions() *blockblob.ClientOptions {
	return &blockblob.ClientOptions{ClientOptions: policy.ClientOptions{
		Telemetry: policy.TelemetryOptions{ApplicationID: "evidence"},
	}}
}

// client returns a block blob client for the blob name.
func (s *Store) client(name string) (*blockblob.Client, error) {
	u := s.target.URL(name)
	switch {
	case s.creds.SAS != "":
		c, err := blockblob.NewClientWithNoCredential(u+"?"+s.creds.SAS, clientOptions())
		return c, s.wrap("blob client", err)
	case s.creds.ConnectionString != "":
		c, err := blockblob.NewClientFromConnectionString(s.creds.ConnectionString, s.target.Container, name, clientOptions())
		if err := s.connStringClient(err, c, u); err != nil {
			return nil, err
		}
		return c, nil
	default:
		c, err := blockblob.NewClient(u, s.creds.Token, clientOptions())
		return c, s.wrap("blob client", err)
	}
}

// connStringClient checks a client made from the connection string (err:
// making it) against the URL it was made for.
func (s *Store) connStringClient(err error, c interface{ URL() string }, want string) error {
	if err != nil {
		return fmt.Errorf("%s: cannot parse the connection string", EnvConnectionString)
	}
	if !sameBlobURL(c.URL(), want) {
		return fmt.Errorf("%s points to a different storage endpoint than %s: use a connection string for that account", EnvConnectionString, s.target.Service)
	}
	return nil
}

// sameBlobURL compares two blob URLs' scheme, host and unescaped path.
func sameBlobURL(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host) && ua.Path == ub.Path
}

var sigRE = regexp.MustCompile(`(?i)(sig=|accountkey=|sharedaccesssignature=)[^&;\s"]+`)

// scrub removes every known secret, and anything shaped like a SAS
// signature or account key, from s.
func (s *Store) scrub(msg string) string {
	for _, sec := range s.secrets {
		if sec != "" {
			msg = strings.ReplaceAll(msg, sec, "REDACTED")
		}
	}
	return sigRE.ReplaceAllString(msg, "${1}REDACTED")
}

// wrap turns an SDK error into one line without secrets: for a service
// answer, "op: HTTP 409 BlobAlreadyExists".
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return &ServiceError{Op: op, Status: re.StatusCode, Code: re.ErrorCode}
	}
	return fmt.Errorf("%s: %s", op, oneLine(s.scrub(err.Error())))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// ServiceError is a refusal by the storage service.
type ServiceError struct {
	Op     string
	Status int
	Code   string // the x-ms-error-code, e.g. BlobAlreadyExists
}

// Error implements error.
func (e *ServiceError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d", e.Op, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	switch {
	case e.Status == 401 || e.Status == 403:
		msg += " (the credential is refused or lacks a permission; see docs/storage.md)"
	case e.Status == 404 && e.Code == string(bloberror.ContainerNotFound):
		msg += " (create the container first; see docs/storage.md)"
	}
	return msg
}

// ErrExists is returned when the blob name is taken: a blob is never
// overwritten.
var ErrExists = errors.New("a blob with this name already exists; evidence never overwrites a blob")

func isCode(err error, codes ...bloberror.Code) bool {
	var se *ServiceError
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.Code == string(c) {
			return true
		}
	}
	return false
}

func status(err error) int {
	var se *ServiceError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}
