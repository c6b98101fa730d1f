package graphtest

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// User is a user of the simulated tenant, as Users, Victim and Story report
// it.
type User struct {
	ID             string
	UPN            string
	DisplayName    string
	Mail           string
	ProxyAddresses []string
}

func (u User) clone() User {
	u.ProxyAddresses = append([]string(nil), u.ProxyAddresses...)
	return u
}

// place is a sign-in location as Graph geolocates it.
type place struct {
	city, state, country string
	lat, lon             float64
}

// Locations. Benign addresses come from the documentation ranges of RFC 5737
// (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24); only the attacker's
// address is a real, routable one, as the story requires.
var (
	plSeattle   = place{"Seattle", "Washington", "US", 47.6062, -122.3321}
	plBellevue  = place{"Bellevue", "Washington", "US", 47.6101, -122.2015}
	plKirkland  = place{"Kirkland", "Washington", "US", 47.6769, -122.206}
	plRedmond   = place{"Redmond", "Washington", "US", 47.6740, -122.1215}
	plTokyo     = place{"Chiyoda", "Tokyo", "JP", 35.694, 139.7536}
	plYokohama  = place{"Yokohama", "Kanagawa", "JP", 35.4437, 139.638}
	plKawasaki  = place{"Kawasaki", "Kanagawa", "JP", 35.5308, 139.703}
	plSaitama   = place{"Saitama", "Saitama", "JP", 35.8617, 139.6455}
	plAmsterdam = place{"Amsterdam", "Noord-Holland", "NL", 52.374, 4.8897}
)

// device is what deviceDetail reports.
type device struct {
	id, name, os, browser, trust string
	managed                      bool
}

// person is a user plus the profile the generators draw from.
type person struct {
	User
	idx                                         int
	given, surname, jobTitle, office, lang, loc string
	mobile                                      string
	created                                     time.Time
	officeIP, homeIP, mobileIP                  string
	officeAt, homeAt, mobileAt                  *place
	laptop, phone                               device
	key                                         uint64 // hash key of the user's streams
	admin                                       bool
}

// group is a target of "Add member to group" audits.
type group struct{ id, name string }

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// directory builds the tenant's users: the four named ones, then ExtraUsers
// generated ones. alice is the administrator.
func buildDirectory(ns uuid.UUID, seed int64, extra int, anchor time.Time) []*person {
	id := func(s string) string { return uuid.NewSHA1(ns, []byte(s)).String() }
	day := anchor.Truncate(24 * time.Hour)
	mk := func(upn, display, given, surname, job, office, lang, loc, mobile, mail string, proxies []string, jp bool) *person {
		k := mix64(uint64(seed) ^ hashString("user/"+upn))
		p := &person{
			User: User{
				ID:             id("user/" + upn),
				UPN:            upn,
				DisplayName:    display,
				Mail:           mail,
				ProxyAddresses: proxies,
			},
			given: given, surname: surname, jobTitle: job, office: office, lang: lang, loc: loc, mobile: mobile,
			created: day.Add(-time.Duration(400+k%900) * 24 * time.Hour).Add(time.Duration(k>>20%86400) * time.Second),
			key:     k,
		}
		h := byte(k >> 8)
		if jp {
			p.officeIP, p.officeAt = "203.0.113.24", &plTokyo
			p.homeIP = fmt.Sprintf("203.0.113.%d", 128+h%100)
			p.homeAt = []*place{&plYokohama, &plKawasaki, &plSaitama}[k%3]
			p.mobileIP, p.mobileAt = fmt.Sprintf("203.0.113.%d", 60+h%50), &plTokyo
			p.phone = device{os: "Android 14", browser: "Chrome Mobile 131.0.6778"}
		} else {
			p.officeIP, p.officeAt = "198.51.100.17", &plSeattle
			p.homeIP = fmt.Sprintf("192.0.2.%d", 20+h%200)
			p.homeAt = []*place{&plBellevue, &plKirkland, &plRedmond}[k%3]
			p.mobileIP, p.mobileAt = fmt.Sprintf("198.51.100.%d", 150+h%100), &plSeattle
			p.phone = device{os: "Ios 17.5.1", browser: "Mobile Safari 17.5"}
		}
		p.laptop = device{
			id:      id("device/" + upn),
			name:    fmt.Sprintf("CONTOSO-%04X", k>>48),
			os:      "Windows 10",
			browser: "Edge 131.0.0",
			trust:   "Azure AD joined",
			managed: true,
		}
		return p
	}
	users := []*person{
		mk("victim@contoso.com", "Megan Bowen", "Megan", "Bowen", "Marketing Manager", "Seattle", "en-US", "US",
			"+1 206 555 0142", "victim@contoso.com", []string{"SMTP:victim@contoso.com", "smtp:v.user@contoso.com"}, false),
		mk("alice@contoso.com", "Alice Johnson", "Alice", "Johnson", "IT Administrator", "Seattle", "en-US", "US",
			"+1 206 555 0117", "alice@contoso.com", []string{"SMTP:alice@contoso.com"}, false),
		mk("bob@contoso.com", "Bob Smith", "Bob", "Smith", "Sales Representative", "Tokyo", "en-US", "JP",
			"+81 90 5555 0123", "bob@contoso.com", []string{"SMTP:bob@contoso.com", "smtp:bob.smith@contoso.com"}, true),
		mk("sōta@contoso.co.jp", "田中 颯太", "颯太", "田中", "ソフトウェアエンジニア", "Tokyo", "ja-JP", "JP",
			"+81 80 5555 0199", "sota.tanaka@contoso.co.jp", []string{"SMTP:sota.tanaka@contoso.co.jp"}, true),
	}
	users[1].admin = true
	users[1].laptop.browser = "Chrome 131.0.0"
	for i := 1; i <= extra; i++ {
		upn := fmt.Sprintf("user%04d@contoso.com", i)
		jp := i%2 == 0
		office, lang, loc, mobile := "Seattle", "en-US", "US", fmt.Sprintf("+1 425 555 %04d", i)
		if jp {
			office, lang, loc, mobile = "Tokyo", "ja-JP", "JP", fmt.Sprintf("+81 90 5555 %04d", i)
		}
		users = append(users, mk(upn, fmt.Sprintf("User %04d", i), "User", fmt.Sprintf("%04d", i), "Staff", office, lang, loc,
			mobile, upn, []string{"SMTP:" + upn}, jp))
	}
	for i, u := range users {
		u.idx = i
	}
	return users
}

func buildGroups(ns uuid.UUID) []group {
	names := []string{"All Company", "Marketing", "Tokyo Office", "Project Falcon"}
	gs := make([]group, len(names))
	for i, n := range names {
		gs[i] = group{id: uuid.NewSHA1(ns, []byte("group/"+n)).String(), name: n}
	}
	return gs
}

// lookup finds a user by object id or UPN, case-insensitively.
func (t *Tenant) lookup(key string) *person {
	if p, ok := t.byID[strings.ToLower(key)]; ok {
		return p
	}
	if p, ok := t.byUPN[strings.ToLower(key)]; ok {
		return p
	}
	for _, p := range t.users { // full Unicode case folding, for the rare miss
		if strings.EqualFold(p.UPN, key) {
			return p
		}
	}
	return nil
}
