// Package graphtest simulates a Microsoft 365 / Entra ID tenant behind a
// real HTTP server that answers like Microsoft Graph v1.0, so collectors can
// be tested, and `evidence demo` run, end to end without credentials. Use it
// like net/http/httptest:
//
//	srv, err := graphtest.NewServer(graphtest.Config{Token: "t", Seed: 1})
//	defer srv.Close()
//	// GET srv.URL + "/v1.0/auditLogs/signIns" with "Authorization: Bearer t"
//
// # What is simulated
//
//   - GET /v1.0/organization: the tenant (Contoso) and its verified domains.
//   - GET /v1.0/users/{id | userPrincipalName}: path-escaped, UPN matched
//     case-insensitively (non-ASCII UPNs included), optional $select. Without
//     $select only Graph's default property set is returned (no
//     proxyAddresses, accountEnabled or createdDateTime), as Graph does.
//   - GET /v1.0/users: $top (1..999, default 100), $skiptoken, $select and a
//     $filter of eq comparisons on id, userPrincipalName, mail, displayName
//     or proxyAddresses/any(p: p eq '...').
//   - GET /v1.0/auditLogs/signIns: interactive sign-ins, newest first.
//     $filter is a conjunction ("and") of createdDateTime ge|le|eq <ts>,
//     userId eq '<id>' and userPrincipalName eq '<upn>'.
//   - GET /v1.0/auditLogs/directoryAudits: directory audits, newest first.
//     $filter is a conjunction of activityDateTime ge|le|eq <ts>,
//     initiatedBy/user/id eq '<id>', initiatedBy/user/userPrincipalName eq
//     '<upn>' and targetResources/any(t: t/id eq '<id>') (any variable name).
//   - GET /v1.0/admin/exchange/tracing/messageTraces and
//     .../messageTraces/{id}/getDetailsByRecipient(recipientAddress='...'):
//     Exchange message trace rows (one per message and recipient) over the
//     95 days before the initial Now, with the documented window rules (both
//     receivedDateTime bounds, at most 10 days, at most 90 days back, not
//     after Now; otherwise 400), $top 1..5000, and a 401 naming Microsoft's
//     message trace app when Config.NoMessageTraceSP is set. See
//     messagetrace.go; the 400 message texts are not Graph's (undocumented).
//
// Timestamps in filters are unquoted DateTimeOffset literals (RFC 3339, "Z"
// or a numeric offset, at most seven fractional digits). lt, gt, ne, or,
// not, functions, grouping and other properties are answered 400
// Request_UnsupportedQuery; malformed expressions 400 BadRequest. The log
// endpoints also accept $top (1..MaxTop, default MaxTop), $skiptoken,
// $select and $orderby=<time> desc. Option names may arrive URL-encoded
// (%24filter). Unknown $-options are refused; other parameters ignored.
//
// Every answer carries Graph's Content-Type, request-id, client-request-id
// (echoed) and Date headers; errors use Graph's error shape. Paging follows
// @odata.nextLink: an absolute URL on the request's own host carrying the
// original $filter, $top and $select and an opaque $skiptoken, which is the
// position of the last record served in the total order (time desc, then a
// stable stream order) sealed with an HMAC over the endpoint, the canonical
// query and the position. Paging is stateless and therefore exact under
// concurrency: no record is skipped or repeated, including records on
// inclusive bounds. A tampered token, or one replayed with another filter,
// is answered 400 Request_BadRequest "Invalid skip token".
//
// Licences: p2 (default) serves everything with 30-day retention; p1 the
// same with risk details "hidden"; free refuses sign-ins with 403
// Authentication_RequestFromNonPremiumTenantOrB2CTenant and keeps 7 days of
// audits. Records are served if newer than Now minus the retention and not
// after Now.
//
// Throttling is a per-token sliding window per budget class (Reports for
// /auditLogs/*, Directory for /users and /organization, MessageTrace for
// /admin/exchange/tracing/*): the request that
// would be the (Requests+1)-th in the last Per is answered 429
// TooManyRequests with Retry-After in whole seconds, rounded up (0 when Per
// is under a second). A request counts from when it arrives, before the
// simulator's own routing and checks. Refused requests do not consume the
// budget.
//
// Faults (see Faults) apply to /auditLogs/*, /users* and message trace only: 5xx answers,
// connection resets, truncated bodies, latency and 429 storms
// (Retry-After: 0). They never change which records a successful answer
// holds. Stats counts them.
//
// Late arrival (see Arrival): with Config.Arrival set, a share of records
// becomes visible only some time after its event time, as Entra ID and the
// unified audit log do; paging, Count and IDs follow the tenant's clock.
//
// # The audit log query API
//
// POST /{v1.0|beta}/security/auditLog/queries, GET .../queries/{id} and
// GET .../queries/{id}/records simulate Purview's asynchronous audit log
// search: see UAL for the lifecycle, limits and faults, and
// Tenant.UALIDs for the ground truth.
//
// # Data
//
// Users: victim@contoso.com (Megan Bowen), alice@contoso.com (Alice
// Johnson, the administrator), bob@contoso.com, sōta@contoso.co.jp (田中 颯太)
// and ExtraUsers generated user0001@contoso.com, .... Each user has
// SignInsPerUser background interactive sign-ins and AuditsPerUser
// self-initiated directory audits in every 30-day period, and alice
// initiates AuditsPerUser/5 audits on each other user. Records are never
// stored: their times come from a closed formula (an even spread with
// seeded jitter, strictly increasing, 100 ns resolution) and their fields
// from a hash of the seed, user, stream and index, so a tenant of millions
// of records costs no memory, Count is O(log n) per user stream and a page
// costs only the records it holds. Period 0 is the 30 days before the
// initial Now; activity continues at the same rate afterwards, so SetNow
// reveals new records and ages old ones out of retention. Identical
// configurations produce identical tenants.
//
// Benign sign-ins come from each user's office, home and mobile addresses
// (RFC 5737 documentation ranges) in Seattle or Tokyo, use Exchange Online,
// Teams, OfficeHome and Microsoft Office, and fail with 50126 about 3% of
// the time.
//
// # The story
//
// The victim is compromised about five days before Now from 185.220.101.47
// (Amsterdam, NL): three failed sign-ins, a successful OfficeHome sign-in,
// MFA registration, consent to the "Mail Sync Pro" application with
// Mail.Send and Mail.ReadWrite, an app role assignment, an inbox rule "."
// forwarding to attacker@protonmail.example (in the unified audit log, with
// its update, mail read and sent from the attacker's address), and a day later the administrator resets the victim's password. One
// victim sign-in and one victim audit sit exactly on UTC midnights for
// window-edge tests. See Story for the exact offsets.
//
// # Tenant posture
//
// The tenant source's endpoints (posture.go): conditional access policies
// and named locations, role assignments and eligibility schedules (with
// $expand=principal), domains and /domains/{id}/federationConfiguration,
// the authorization, cross-tenant access (and partners) and authentication
// methods policies, and /servicePrincipals/{id}/owners. The story plants a
// federated domain (contoso-sso.com), the policy "Block legacy
// authentication" disabled during the compromise, a report-only policy
// excluding the victim, Privileged Role Administrator assigned to the
// attacker's app, a Global Administrator eligibility for the victim, and
// the legacy user-consent policy; the attacker's secret on an app
// registration comes from the snapshot data. Config.CleanPosture serves the
// same tenant without any of it; TenantPosture gives the ids. Denied
// Policy.Read.All or Domain.Read.All answer 403; eligibility schedules need
// P2 (403 AadPremiumLicenseRequired). Not modelled: $filter, $select and
// $top on these lists (the tool sends none), domains other than Managed and
// Federated, federation of non-federated domains (404), named locations
// other than IP ranges, and the conditional access licence check (served on
// every licence).
//
// # Signals
//
// signals.go serves /identityProtection/riskyServicePrincipals,
// /identityProtection/servicePrincipalRiskDetections and
// /security/incidents (with $expand=alerts): the attacker's app at risk
// with one detection, an active incident whose alert names the victim and
// the attacker's address, and a resolved incident about bob (two alerts,
// one 40 days old). CleanPosture keeps only bob's. TenantSignals gives the
// ids. /security/alerts_v2 lists every incident's alert with the one filter
// the tool sends, lastUpdateDateTime ge. hunting.go serves POST
// /security/runHuntingQuery for the query shape of the signals source over
// four tables (TenantHunting, HuntingRow), the last 30 days only, capped at
// Config.HuntingMaxRows. Config.NoDefender refuses incidents, alerts and
// hunting as a tenant without Defender XDR. Not modelled: the Workload ID
// licence check, $filter/$top on incidents, other alert filters, KQL
// beyond that shape, the hunting CPU quota (docs/simulator.md).
//
// # Limits
//
// Only GET (and POST for audit log queries, see UAL, and advanced hunting), only v1.0 (/beta serves
// only the audit log query API), only the properties
// and filters above. Group ids in targetResources are not filterable. The
// tenant's clock (Date headers, retention) stands still unless SetNow moves
// it or FollowWallClock makes it the wall clock (evidence sim, evidence
// demo); throttling and latency use real time. Resets and truncation hijack
// the HTTP/1.1 connection; where that is impossible (HTTP/2, a
// ResponseRecorder) the handler aborts with http.ErrAbortHandler.
package graphtest
