package graphtest

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// License names the Microsoft Entra ID licence tier of the simulated tenant.
type License string

// Licence tiers understood by the simulator.
const (
	LicenseFree License = "free" // no premium licence: sign-in logs refused, 7-day audit retention
	LicenseP1   License = "p1"   // Entra ID P1: 30-day retention, risk details returned as "hidden"
	LicenseP2   License = "p2"   // Entra ID P2: 30-day retention, risk details returned
)

// TokenKind says whether the simulated token is delegated or app-only.
type TokenKind string

// Token kinds understood by the simulator.
const (
	TokenDelegated TokenKind = "delegated" // a signed-in user's token (delegated permissions)
	TokenApp       TokenKind = "app"       // an app-only token (application permissions)
)

// Budget is a throttling budget: at most Requests requests served in any
// sliding window of length Per. The zero value means unlimited.
type Budget struct {
	Requests int
	Per      time.Duration
}

func (b Budget) unlimited() bool { return b.Requests <= 0 || b.Per <= 0 }

// Faults configures injected transport and service faults. They apply only
// to /auditLogs/*, /users* and message trace requests. Every probability is drawn
// independently per request from a seeded generator shared by the tenant.
//
// A 429 storm, once started by a request (probability Storm429), answers that
// request and the next StormLength-1 fault-eligible requests with 429
// TooManyRequests and "Retry-After: 0", so scaled tests do not sleep; storm
// 429s never consume the throttling budget. With StormFor set, a storm lasts
// that long on the wall clock instead (every fault-eligible request in it is
// answered 429 "Retry-After: 0", as a service under load may do), and no new
// storm starts for ten times StormFor after it ends.
type Faults struct {
	Rate5xx      float64       // probability of a 5xx answer (mostly 503, sometimes 500, 502, 504)
	RateReset    float64       // probability that the connection is closed without an answer
	RateTruncate float64       // probability of a 200 whose body stops at half its Content-Length
	Latency      time.Duration // added to every fault-eligible request
	Storm429     float64       // probability that a request starts a 429 storm
	StormLength  int           // consecutive 429s in a storm (default 5)
	StormFor     time.Duration // if set, a storm lasts this long instead of StormLength requests
	Seed         int64         // seed of the fault generator
}

// Config describes a simulated tenant. Only Token is required.
type Config struct {
	Seed    int64     // seeds every generated identifier, timestamp and field
	License License   // default LicenseP2
	Token   string    // the only accepted bearer token (required)
	Now     time.Time // the tenant's "now"; zero means time.Now().UTC().Truncate(time.Second) at New

	// SignInsPerUser is the number of background interactive sign-ins per
	// user in each 30-day period (default 300; negative means none).
	SignInsPerUser int
	// AuditsPerUser is the number of background directory audits initiated
	// by each user in each 30-day period (default 60; negative means none).
	// The administrator (alice) additionally initiates AuditsPerUser/5
	// audits targeting each other user.
	AuditsPerUser int
	// NonInteractivePerUser is the number of background non-interactive
	// sign-ins per user in each 30-day period (default 600; negative: none).
	NonInteractivePerUser int
	// AppSignIns is the number of background service principal or managed
	// identity sign-ins per app in each 30-day period (default 200; negative:
	// none). The attacker's app signs in only in the story.
	AppSignIns int
	// ExtraUsers adds generated benign users user0001@contoso.com, ...
	ExtraUsers int

	// MailPerUser is the number of background mails each user sends in
	// every 30-day period (default 30; negative means none); each also
	// receives half as many from outside. Message traces span the 95 days
	// before the initial Now and are generated on first use.
	MailPerUser int
	// NoMessageTraceSP simulates a tenant without the service principal of
	// Microsoft's message trace app: both message trace calls answer 401.
	NoMessageTraceSP bool

	Reports      Budget // throttling budget for /auditLogs/* (per token); zero = unlimited
	MessageTrace Budget // throttling budget for /admin/exchange/tracing/* (per token); zero = unlimited
	Directory    Budget // throttling budget for /users and /organization (per token); zero = unlimited
	Faults       Faults // applied to /auditLogs/*, /users* and message trace requests only
	// Fail answers every request below a path with a chosen status and the
	// error body Graph sends with it, after the token check (for example
	// {"/auditLogs/signIns": 401}: a token that expired mid-run). The path
	// may include the version ("/beta/auditLogs/signIns") or not (any).
	Fail map[string]int
	// FailAfter delays a Fail rule (same key): that many requests below
	// its path are served normally first (AddFail reads "PATH=CODE@N").
	FailAfter map[string]int
	MaxTop    int // largest accepted $top on the log endpoints, and their default page size (default 1000)

	// Denied names Graph permissions the simulated app was not granted
	// (e.g. PermMailbox): the snapshot endpoints needing them answer 403.
	Denied []string

	// CleanPosture serves the tenant's configuration (the tenant source's
	// parts) without the story's planted changes: no federated domain, every
	// conditional access policy enforced, no role for the attacker's app,
	// users may consent only to low-risk apps of verified publishers, and
	// the attacker's secret is not on the app registration (Persistence's
	// NewSecretKeyID is then empty), and Microsoft's detections raised nothing
	// about the story (signals.go). Other snapshot data is unchanged.
	CleanPosture bool

	// NoDefender simulates a tenant without Microsoft Defender XDR: the
	// incidents, alerts_v2 and runHuntingQuery endpoints answer 403.
	NoDefender bool
	// HuntingMaxRows is the row cap of one advanced hunting answer
	// (default 100,000, the documented limit): a query matching more rows
	// gets the first HuntingMaxRows, as Defender truncates.
	HuntingMaxRows int
	// Hunting is the throttling budget of runHuntingQuery (per token);
	// zero = unlimited.
	Hunting Budget

	// Arrival delays records as Entra ID and the unified audit log do (see
	// Arrival); the zero value serves every record at its event time.
	Arrival Arrival
	UAL     UAL // the audit log query API (/security/auditLog/queries), see ual.go

	// IgnoreFilter makes the sign-in, directory audit, message trace and
	// snapshot list endpoints answer as a service that ignores $filter:
	// every record in retention (message trace: the last 48 hours), other
	// users' and out-of-window ones included. Collectors must keep those
	// apart.
	IgnoreFilter bool

	// RefuseBetaSignIns makes /beta/auditLogs/signIns answer 403
	// Authorization_RequestDenied, as a tenant or app barred from beta
	// would: collectors fall back to v1.0 for interactive sign-ins.
	RefuseBetaSignIns bool

	// RefuseTargetFilter makes the tenant answer the audit filter
	// targetResources/any(...) with 400 Request_UnsupportedQuery, as a
	// service that does not support that documented filter would.
	RefuseTargetFilter bool

	// TokenKind is what the accepted token stands for: TokenDelegated (a
	// signed-in user, the default) or TokenApp (application permissions,
	// as the unattended export runs). An app-only token on an endpoint whose
	// documentation lists no application permission gets 403
	// Authorization_RequestDenied, as Graph answers.
	TokenKind TokenKind

	// Logger, when set, receives one debug record per request and the HTTP
	// server's error log. Nil means silence.
	Logger *slog.Logger
}

const (
	defaultSignIns     = 300
	defaultAudits      = 60
	defaultNonInter    = 600
	defaultAppSignIns  = 200
	defaultStormLength = 5
	defaultMaxTop      = 1000
	defaultMail        = 30
)

// normalize fills in defaults and validates cfg.
func (cfg Config) normalize() (Config, error) {
	if cfg.Token == "" {
		return cfg, errors.New("graphtest: Config.Token is required")
	}
	switch cfg.TokenKind {
	case "":
		cfg.TokenKind = TokenDelegated
	case TokenDelegated, TokenApp:
	default:
		return cfg, fmt.Errorf("graphtest: unknown token kind %q (want delegated or app)", cfg.TokenKind)
	}
	switch cfg.License {
	case "":
		cfg.License = LicenseP2
	case LicenseFree, LicenseP1, LicenseP2:
	default:
		return cfg, fmt.Errorf("graphtest: unknown licence %q (want free, p1 or p2)", cfg.License)
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now().UTC().Truncate(time.Second)
	}
	cfg.Now = cfg.Now.UTC().Truncate(tickDur)
	switch {
	case cfg.SignInsPerUser == 0:
		cfg.SignInsPerUser = defaultSignIns
	case cfg.SignInsPerUser < 0:
		cfg.SignInsPerUser = 0
	}
	switch {
	case cfg.AuditsPerUser == 0:
		cfg.AuditsPerUser = defaultAudits
	case cfg.AuditsPerUser < 0:
		cfg.AuditsPerUser = 0
	}
	switch {
	case cfg.MailPerUser == 0:
		cfg.MailPerUser = defaultMail
	case cfg.MailPerUser < 0:
		cfg.MailPerUser = 0
	}
	switch {
	case cfg.NonInteractivePerUser == 0:
		cfg.NonInteractivePerUser = defaultNonInter
	case cfg.NonInteractivePerUser < 0:
		cfg.NonInteractivePerUser = 0
	}
	switch {
	case cfg.AppSignIns == 0:
		cfg.AppSignIns = defaultAppSignIns
	case cfg.AppSignIns < 0:
		cfg.AppSignIns = 0
	}
	if cfg.ExtraUsers < 0 || cfg.ExtraUsers > 9999 {
		return cfg, fmt.Errorf("graphtest: ExtraUsers %d out of range 0..9999", cfg.ExtraUsers)
	}
	if limit := spanTicks / minSpacing; int64(cfg.SignInsPerUser) > limit || int64(cfg.AuditsPerUser) > limit ||
		int64(cfg.NonInteractivePerUser) > limit || int64(cfg.AppSignIns) > limit {
		return cfg, fmt.Errorf("graphtest: at most %d records per user and stream", limit)
	}
	if cfg.MaxTop <= 0 {
		cfg.MaxTop = defaultMaxTop
	}
	if cfg.Faults.StormLength <= 0 {
		cfg.Faults.StormLength = defaultStormLength
	}
	if err := cfg.Arrival.validate(); err != nil {
		return cfg, err
	}
	for _, p := range []float64{cfg.Faults.Rate5xx, cfg.Faults.RateReset, cfg.Faults.RateTruncate, cfg.Faults.Storm429} {
		if p < 0 || p > 1 {
			return cfg, fmt.Errorf("graphtest: fault probability %v out of range 0..1", p)
		}
	}
	return cfg, nil
}
