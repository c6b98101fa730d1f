package signals

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evidence-dfir/evidence/collect"
	"github.com/evidence-dfir/evidence/manifest"
	"github.com/tidwall/gjson"
)

// Besides the user, an incident or alert is the subject's when its evidence
// names a device or an IP address the subject's sign-ins in the same bundle
// used: Defender XDR correlates by those too, and an attacker's address
// often appears in an alert with no user evidence at all. The evidence
// types and properties, from Graph's reference (v1.0, resources/
// security-deviceevidence.md, security-ipevidence.md):
//   - deviceEvidence.azureAdDeviceId: "A unique identifier assigned to a
//     device by Microsoft Entra ID", the id a sign-in records as
//     deviceDetail.deviceId;
//   - ipEvidence.ipAddress: "V4 address or V6 address format", compared
//     with a sign-in's ipAddress in canonical form.

// devicePaths and ipPaths are where an alert names a device or an IP
// address.
var (
	devicePaths = []string{"evidence.#.azureAdDeviceId"}
	ipPaths     = []string{"evidence.#.ipAddress"}
)

// inIncident is paths inside an incident's expanded alerts.
func inIncident(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, "alerts.#."+p+"|@flatten")
	}
	return out
}

// maxIndicators bounds the devices and the addresses kept from the
// sign-ins (memory stays bounded); beyond it the rest are not used, and a
// warning says so.
const maxIndicators = 10000

// indicators are the devices and IP addresses of the subject's sign-ins.
type indicators struct {
	devices, ips map[string]bool
	files        []string // the sign-in files read
	capped       bool
}

// bundleFiles is what the signals source needs of the bundle being written
// to read the sign-ins collected before it (archive/bundle.Stage).
type bundleFiles interface {
	Flush(rels ...string) error
	Dir() string
}

// signInIndicators reads the devices and IP addresses of the sign-ins the
// sources before this one wrote (the subject's files, not those kept
// apart as out of scope). nil when there are none to read.
func signInIndicators(prior []manifest.Source, out collect.Output) (*indicators, error) {
	bf, ok := out.(bundleFiles)
	if !ok {
		return nil, nil
	}
	ind := &indicators{devices: map[string]bool{}, ips: map[string]bool{}}
	for _, s := range prior {
		if s.Name != "signins" && !strings.HasPrefix(s.Name, "signins.") {
			continue
		}
		for _, f := range s.Files {
			if strings.HasSuffix(f, ".jsonl") && !strings.HasSuffix(f, manifest.OutOfScopeSuffix) {
				ind.files = append(ind.files, f)
			}
		}
	}
	if len(ind.files) == 0 {
		return nil, nil
	}
	sort.Strings(ind.files)
	if err := bf.Flush(); err != nil {
		return nil, err
	}
	for _, f := range ind.files {
		if err := ind.read(filepath.Join(bf.Dir(), filepath.FromSlash(f))); err != nil {
			return nil, fmt.Errorf("signals: reading the sign-ins of %s: %w", f, err)
		}
	}
	return ind, nil
}

func (ind *indicators) read(p string) error {
	fh, err := os.Open(p)
	if err != nil {
		return err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		r := gjson.ParseBytes(sc.Bytes())
		ind.add(ind.devices, deviceKey(r.Get("deviceDetail.deviceId").String()))
		ind.add(ind.ips, ipKey(r.Get("ipAddress").String()))
	}
	return sc.Err()
}

func (ind *indicators) add(set map[string]bool, k string) {
	if k == "" || set[k] {
		return
	}
	if len(set) >= maxIndicators {
		ind.capped = true
		return
	}
	set[k] = true
}

func deviceKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ipKey is an address in canonical form ("" for none): 2001:DB8::0:1 and
// 2001:db8::1 are one address, an IPv4-mapped IPv6 address is its IPv4.
func ipKey(s string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	return a.Unmap().String()
}

// holds reports whether rec names one of the devices or addresses, at the
// device and IP paths given.
func (ind *indicators) holds(rec gjson.Result, devPaths, addrPaths []string) bool {
	if ind == nil {
		return false
	}
	for _, p := range devPaths {
		for _, v := range rec.Get(p).Array() {
			if ind.devices[deviceKey(v.String())] {
				return true
			}
		}
	}
	for _, p := range addrPaths {
		for _, v := range rec.Get(p).Array() {
			if ind.ips[ipKey(v.String())] {
				return true
			}
		}
	}
	return false
}

// describe names the indicators for a reason: "or one of the 2 devices
// and 5 IP addresses of the subject's sign-ins".
func (ind *indicators) describe() string {
	if ind == nil {
		return ""
	}
	return fmt.Sprintf(" or one of the %d devices and %d IP addresses of the subject's sign-ins", len(ind.devices), len(ind.ips))
}
