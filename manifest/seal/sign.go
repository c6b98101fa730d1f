package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/evidence-dfir/evidence/manifest/durable"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/evidence-dfir/evidence/manifest"
)

// Signature namespaces (SSHSIG): a signature made for one purpose can never
// be replayed for the other.
const (
	SignatureNamespace = "evidence"         // SHA256SUMS.sig
	CustodyNamespace   = "evidence-custody" // each custody log entry
)

// Signer signs bundles and custody entries. Any ssh.Signer with an Ed25519
// key serves; LoadSigningKey reads one from an OpenSSH private key file.
type Signer = ssh.Signer

// PublicKey is a public key of a Signer (an OpenSSH public key).
type PublicKey = ssh.PublicKey

// KeyFileError explains why a private key file was refused.
type KeyFileError struct {
	Path string
	Why  string
}

func (e *KeyFileError) Error() string { return e.Path + ": " + e.Why }

// ErrWrongPassphrase is returned (wrapped) when a key does not decrypt.
var ErrWrongPassphrase = errors.New("wrong passphrase")

// GenerateKey creates an Ed25519 key pair and writes prefix+".key" (the
// private key in OpenSSH format, encrypted with passphrase: bcrypt KDF and
// AES-256-CTR, as ssh-keygen writes it; mode 0600) and prefix+".pub" (one
// OpenSSH public key line, what ssh-keygen -Y verify and evidence verify
// --pubkey read). It refuses an empty passphrase and never overwrites a file:
// if either exists, nothing is written. A missing directory of prefix is
// created, readable by its owner only (~/.evidence on a fresh machine). It
// returns the public key.
func GenerateKey(prefix string, passphrase []byte, comment string) (ssh.PublicKey, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("an empty passphrase would leave the private key unprotected")
	}
	keyPath, pubPath := prefix+".key", prefix+".pub"
	for _, p := range []string{keyPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%s already exists: a key is never overwritten", p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
		return nil, fmt.Errorf("the key's directory: %w", err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, comment, passphrase)
	if err != nil {
		return nil, fmt.Errorf("encrypting key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := writeNew(keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	line := bytes.TrimRight(ssh.MarshalAuthorizedKey(sshPub), "\n")
	if comment != "" {
		line = append(line, ' ')
		line = append(line, comment...)
	}
	line = append(line, '\n')
	if err := writeNew(pubPath, line, 0o644); err != nil {
		os.Remove(keyPath)
		return nil, err
	}
	return sshPub, nil
}

// writeNew writes b to a file that must not exist yet, durably.
func writeNew(p string, b []byte, mode os.FileMode) error {
	err := durable.WriteBytes(p, mode, durable.Create, b)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: a key is never overwritten", p)
	}
	return err
}

// LoadSigningKey reads an Ed25519 private key in OpenSSH format (as written
// by GenerateKey or ssh-keygen -t ed25519). On Unix it refuses a file that
// group or others may read or write. passphrase is called only when the key
// is encrypted; a key that does not decrypt gives an error wrapping
// ErrWrongPassphrase. Errors are one line and never contain key material.
func LoadSigningKey(path string, passphrase func() ([]byte, error)) (Signer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &KeyFileError{path, "not a regular file"}
	}
	if pub, err := os.ReadFile(path); err == nil && isPublicKeyFile(pub) {
		return nil, &KeyFileError{path, "that is a public key; give the private key (" + strings.TrimSuffix(path, ".pub") + ".key, as evidence keygen writes it, or the ssh-keygen key without .pub)"}
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, &KeyFileError{path, fmt.Sprintf("private key is accessible by group or others (mode %04o); refusing to use it: run chmod 600 %s", fi.Mode().Perm(), path)}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	raw, err := ssh.ParseRawPrivateKey(b)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		pw, perr := passphrase()
		if perr != nil {
			return nil, fmt.Errorf("%s: passphrase: %w", path, perr)
		}
		raw, err = ssh.ParseRawPrivateKeyWithPassphrase(b, pw)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("%s: %w", path, ErrWrongPassphrase)
		}
	}
	if err != nil {
		return nil, &KeyFileError{path, "not an OpenSSH private key: " + firstLine(err.Error())}
	}
	var key ed25519.PrivateKey
	switch k := raw.(type) {
	case ed25519.PrivateKey:
		key = k
	case *ed25519.PrivateKey:
		key = *k
	default:
		return nil, &KeyFileError{path, fmt.Sprintf("a %T key: evidence signs with Ed25519 keys only (evidence keygen, or ssh-keygen -t ed25519)", raw)}
	}
	return ssh.NewSignerFromKey(key)
}

// isPublicKeyFile says whether b is a public key file (OpenSSH lines, an
// authorized_keys or allowed_signers file) rather than a private key.
func isPublicKeyFile(b []byte) bool {
	if bytes.Contains(b, []byte("PRIVATE KEY")) {
		return false
	}
	_, err := ParsePublicKeys(b)
	return err == nil
}

// ParsePublicKeys reads trusted public keys: one per line, each an OpenSSH
// public key line ("ssh-ed25519 AAAA... comment", as in PREFIX.pub or an
// authorized_keys file) or an ssh-keygen allowed_signers line ("principal
// [options] ssh-ed25519 AAAA..."). Blank lines and lines starting with '#'
// are skipped. At least one key is required.
func ParsePublicKeys(b []byte) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseKeyLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no public key found")
	}
	return keys, nil
}

// parseKeyLine finds "<key type> <base64>" anywhere in a line.
func parseKeyLine(line string) (ssh.PublicKey, error) {
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if !strings.HasPrefix(f[i], "ssh-") && !strings.HasPrefix(f[i], "ecdsa-") && !strings.HasPrefix(f[i], "sk-") {
			continue
		}
		blob, err := base64.StdEncoding.DecodeString(f[i+1])
		if err != nil {
			continue
		}
		k, err := ssh.ParsePublicKey(blob)
		if err != nil {
			return nil, fmt.Errorf("%s key: %w", f[i], err)
		}
		if k.Type() != f[i] {
			return nil, fmt.Errorf("key type %s does not match its data (%s)", f[i], k.Type())
		}
		return k, nil
	}
	return nil, errors.New("not an OpenSSH public key line")
}

// ReadPublicKeys reads trusted public keys from files (see ParsePublicKeys).
func ReadPublicKeys(paths ...string) ([]ssh.PublicKey, error) {
	var all []ssh.PublicKey
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		ks, err := ParsePublicKeys(b)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", p, err)
		}
		all = append(all, ks...)
	}
	return all, nil
}

// Fingerprint renders a public key's SHA-256 fingerprint as ssh-keygen -l
// prints it ("SHA256:...").
func Fingerprint(k ssh.PublicKey) string { return ssh.FingerprintSHA256(k) }

// AuthorizedKey renders a public key as one OpenSSH line without comment.
func AuthorizedKey(k ssh.PublicKey) string {
	return strings.TrimRight(string(ssh.MarshalAuthorizedKey(k)), "\n")
}

// SignSums signs the SHA256SUMS of the bundle directory dir and writes the
// armored signature to dir/SHA256SUMS.sig (SSHSIG, namespace "evidence",
// SHA-512), which `ssh-keygen -Y verify -n evidence` checks.
func SignSums(dir string, s Signer) error {
	sums, err := os.ReadFile(filepath.Join(dir, manifest.SumsName))
	if err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	armored, err := SignBytes(sums, s, SignatureNamespace)
	if err != nil {
		return err
	}
	return durable.WriteBytes(filepath.Join(dir, manifest.SigName), 0o644, durable.Create, armored)
}

// SignBytes returns the armored SSHSIG signature of msg in namespace.
func SignBytes(msg []byte, s Signer, namespace string) ([]byte, error) {
	sig, err := sshsig.Sign(bytes.NewReader(msg), s, sshsig.HashSHA512, namespace)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return sshsig.Armor(sig), nil
}

// SignatureKey returns the SHA-256 fingerprint, as `ssh-keygen -lf KEY.pub`
// prints it ("SHA256:..."), of the public key an armored SSHSIG signature
// names. It does not verify the signature (VerifySignature does), so the
// fingerprint says who claims to have signed, not who did.
func SignatureKey(armored []byte) (string, error) {
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		return "", fmt.Errorf("not an SSH signature: %w", err)
	}
	return ssh.FingerprintSHA256(sig.PublicKey), nil
}

// SignatureCheck is what checking SHA256SUMS.sig found.
type SignatureCheck struct {
	// Fingerprint is the SHA-256 fingerprint of the key the signature
	// names; informational unless Trusted.
	Fingerprint string `json:"fingerprint"`
	// Valid: the signature verifies against the key it names, over the
	// SHA256SUMS present.
	Valid bool `json:"valid"`
	// Trusted: that key is one of the trusted keys given.
	Trusted bool `json:"trusted"`
	// Principals are who the trusted-keys line names for the key, when
	// Trusted.
	Principals string `json:"principals,omitempty"`
	// Untrusted says why a valid signature's key is not trusted.
	Untrusted string `json:"untrusted,omitempty"`
	// Error says why the signature is not valid.
	Error string `json:"error,omitempty"`
}

// VerifySignature checks an armored SSHSIG signature of msg in namespace.
// It always checks the signature against the key it carries (Valid), and
// reports whether that key is among trusted (Trusted). The key carried by a
// signature is never trusted by itself.
func VerifySignature(msg, armored []byte, namespace string, trusted []ssh.PublicKey) SignatureCheck {
	return checkSignature(msg, armored, namespace, KeysTrust("--pubkey", trusted), time.Now())
}

// checkSignature is VerifySignature against trust anchors at time now.
func checkSignature(msg, armored []byte, namespace string, anchors *TrustedKeys, now time.Time) SignatureCheck {
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		return SignatureCheck{Error: "not an SSH signature: " + err.Error()}
	}
	c := SignatureCheck{Fingerprint: ssh.FingerprintSHA256(sig.PublicKey)}
	if sig.PublicKey.Type() != ssh.KeyAlgoED25519 {
		c.Error = "key type " + sig.PublicKey.Type() + ", want " + ssh.KeyAlgoED25519
		return c
	}
	if err := sshsig.Verify(bytes.NewReader(msg), sig, sig.PublicKey, sig.HashAlgorithm, namespace); err != nil {
		c.Error = "does not verify: " + err.Error()
		return c
	}
	c.Valid = true
	if k, ok, why := anchors.Lookup(sig.PublicKey, namespace, now); ok {
		c.Trusted, c.Principals = true, k.Principals
	} else {
		c.Untrusted = why
	}
	return c
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
