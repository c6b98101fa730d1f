// Package blob delivers a bundle archive to Azure Blob Storage as a blob
// nobody can quietly change, and reads it back to prove it.
//
// Upload stages the archive in parallel blocks and creates the blob in one
// Put Block List that carries the time-based immutability policy and legal
// hold and the write-once condition (If-None-Match: *), so the blob never
// exists, even for a moment, without its protection, and an existing blob
// is never overwritten. It then reads back the blob's properties and
// reports only the immutability actually in effect, streams the blob back
// and compares its SHA-256 with the local archive's. The result is a
// Receipt.
//
// Credentials: a SAS or a connection string from the environment only
// (EnvSAS, EnvConnectionString), or an Entra ID token credential. No SAS,
// key or connection string ever appears in an error, a log line or a
// Receipt.
package blob

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// Target is a blob location: a container on a storage account, and a path
// inside it (a prefix for uploads, a blob name for downloads).
type Target struct {
	// Service is the blob service endpoint without a trailing '/':
	// https://ACCOUNT.blob.core.windows.net, or path-style for an emulator
	// (http://127.0.0.1:10000/devstoreaccount1).
	Service string
	// Container is the container's name.
	Container string
	// Path is '/'-separated, without leading or trailing '/'; may be empty.
	Path string
}

var containerRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ParseURL parses https://ACCOUNT.blob.core.windows.net/CONTAINER[/PATH]
// (any host-style blob endpoint), or, on a loopback or IP address only,
// the path-style form of emulators, http://127.0.0.1:PORT/ACCOUNT/CONTAINER[/PATH].
// Plain http is accepted only on loopback. A query string (a SAS) or user
// information in the URL is refused without echoing it: a secret must not
// come from a flag.
func ParseURL(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, errors.New("blob URL is not a URL")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return Target{}, fmt.Errorf("blob URL %s carries a query string: a SAS is read only from the environment (%s), never from a flag", redactedURL(u), EnvSAS)
	}
	if u.User != nil {
		return Target{}, errors.New("blob URL carries user information: credentials are read only from the environment")
	}
	host := u.Hostname()
	loop := isLoopback(host)
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loop:
	case u.Scheme == "http":
		return Target{}, fmt.Errorf("blob URL %s: plain http is allowed only on loopback (an emulator); use https", redactedURL(u))
	default:
		return Target{}, fmt.Errorf("blob URL %s: want https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]", redactedURL(u))
	}
	if host == "" {
		return Target{}, errors.New("blob URL has no host")
	}
	p := strings.Trim(u.Path, "/")
	var segs []string
	if p != "" {
		segs = strings.Split(p, "/")
	}
	service := u.Scheme + "://" + u.Host
	if loop || net.ParseIP(host) != nil { // path-style: the account is the first segment
		if len(segs) == 0 {
			return Target{}, fmt.Errorf("blob URL %s: path-style URL needs /ACCOUNT/CONTAINER", redactedURL(u))
		}
		service += "/" + segs[0]
		segs = segs[1:]
	}
	if len(segs) == 0 {
		return Target{}, fmt.Errorf("blob URL %s names no container: want .../CONTAINER[/PREFIX]", redactedURL(u))
	}
	t := Target{Service: service, Container: segs[0], Path: strings.Join(segs[1:], "/")}
	if n := len(t.Container); n < 3 || n > 63 || !containerRE.MatchString(t.Container) {
		return Target{}, fmt.Errorf("blob URL %s: %q is not a valid container name (3-63 lowercase letters, digits and single hyphens)", redactedURL(u), t.Container)
	}
	for _, s := range segs[1:] {
		if s == "" || s == "." || s == ".." {
			return Target{}, fmt.Errorf("blob URL %s: the path has an empty, '.' or '..' segment", redactedURL(u))
		}
	}
	return t, nil
}

// Join returns the blob name for a file name under the target's path.
func (t Target) Join(name string) string {
	if t.Path == "" {
		return name
	}
	return t.Path + "/" + name
}

// URL is the blob's URL (without any SAS): the service, the container and
// the name with each segment escaped.
func (t Target) URL(name string) string {
	var b strings.Builder
	b.WriteString(t.Service)
	b.WriteString("/")
	b.WriteString(t.Container)
	for _, s := range strings.Split(name, "/") {
		b.WriteString("/")
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// String is the target's URL (without any SAS).
func (t Target) String() string {
	if t.Path == "" {
		return t.Service + "/" + t.Container
	}
	return t.URL(t.Path)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactedURL is u without query, fragment or user information.
func redactedURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment, c.User, c.ForceQuery = "", "", nil, false
	return c.String()
}
