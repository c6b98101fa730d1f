package graphtest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Exchange message trace: GET /v1.0/admin/exchange/tracing/messageTraces and
// .../messageTraces/{id}/getDetailsByRecipient(recipientAddress='...').
//
// Documented rules the simulator enforces (see docs/sources.md):
//   - without a receivedDateTime filter, the last 48 hours are served;
//   - with one, both bounds (ge and le) are required, the interval must not
//     exceed 10 days, the start must not be more than 90 days before now and
//     the end not later than now;
//   - $top is 1..5000 (default 1000), then @odata.nextLink;
//   - both calls share one budget (Config.MessageTrace);
//   - without the service principal of Microsoft's message trace app
//     (Config.NoMessageTraceSP) both answer 401.

// MessageTraceAppID is the application (client) id of Microsoft's message
// trace app; the tenant needs a service principal for it.
const MessageTraceAppID = "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373"

const (
	mtMaxTop       = 5000
	mtDefaultTop   = 1000
	mtMaxInterval  = 10 * ticksPerDay
	mtMaxAge       = 90 * ticksPerDay
	mtDefaultRange = 2 * ticksPerDay // no receivedDateTime filter: the last 48 hours
	mtSpan         = 95 * ticksPerDay
)

// errNoMessageTraceSP is what the service answers when the tenant lacks the
// message trace app's service principal (the message as reported by users
// of the API; the code is not documented).
var errNoMessageTraceSP = &gerr{http.StatusUnauthorized, "Unauthorized",
	"Service principal-less authentication failed: The service principal for App ID " + MessageTraceAppID +
		" was not found. Please create a service principal for this app in your tenant. Provisioning may take several hours to complete."}

// mtMsg is one message as Exchange Online received it.
type mtMsg struct {
	tk        int64
	id        string // message trace id, shared by the rows of all recipients
	sender    string
	rcpts     []string
	statuses  []string // per recipient
	toIPs     []string // per recipient
	messageID string
	subject   string
	size      int64
	fromIP    string
}

// mtRow is one row of the trace: one message as received by one recipient.
type mtRow struct {
	tk  int64
	msg int32 // index into Tenant.mt.msgs
	r   int16 // recipient index
	ord int64 // position in (tick, ord) ascending order: unique
}

// mtData holds the generated traces, built on first use.
type mtData struct {
	once sync.Once
	msgs []mtMsg
	rows []mtRow // ascending by (tk, ord)
}

// TraceMessage is one message of the story as message trace shows it: one
// row per recipient, all sharing TraceID.
type TraceMessage struct {
	TraceID    string
	Sender     string
	Recipients []string
	Time       time.Time
	Subject    string
}

// MailBurst is the attacker's mail after the takeover, from the victim's
// mailbox (times relative to the story's T0):
//
//	T0+20m        one phishing mail to 8 external recipients (8 rows, one trace id)
//	T0+21m..29m   12 single-recipient BEC mails to partners, 40 s apart
//	T0+33m        one mail to the victim themself, the attacker and a partner
//	T0+40m, +2h, +5h  mail forwarded to attacker@protonmail.example
//	T0+3h         a reply received at the victim's proxy address v.user@contoso.com
type MailBurst struct {
	MultiRecipient TraceMessage
	Singles        []TraceMessage
	SelfAndOthers  TraceMessage
	Exfiltration   []TraceMessage
	ProxyInbound   TraceMessage
}

func (b MailBurst) clone() MailBurst {
	cp := func(m TraceMessage) TraceMessage { m.Recipients = append([]string(nil), m.Recipients...); return m }
	b.MultiRecipient, b.SelfAndOthers, b.ProxyInbound = cp(b.MultiRecipient), cp(b.SelfAndOthers), cp(b.ProxyInbound)
	b.Singles = append([]TraceMessage(nil), b.Singles...)
	b.Exfiltration = append([]TraceMessage(nil), b.Exfiltration...)
	for i := range b.Singles {
		b.Singles[i] = cp(b.Singles[i])
	}
	for i := range b.Exfiltration {
		b.Exfiltration[i] = cp(b.Exfiltration[i])
	}
	return b
}

// TraceRow is one ground-truth message trace row.
type TraceRow struct {
	ID        string // message trace id
	Sender    string
	Recipient string
	Received  time.Time
	Subject   string
	Status    string
}

var (
	partners = []string{
		"a.wong@fabrikam.example", "billing@northwind.example", "j.doe@northwind.example", "accounts@adatum.example",
		"m.garcia@fabrikam.example", "finance@tailspin.example", "r.ito@wingtip.example", "procurement@adatum.example",
		"s.khan@litware.example", "ap@proseware.example", "l.martin@fabrikam.example", "ceo@tailspin.example",
		"k.sato@wingtip.example", "orders@litware.example", "info@proseware.example", "h.nguyen@northwind.example",
	}
	mxIPs = map[string]string{
		"fabrikam.example": "198.51.100.25", "northwind.example": "198.51.100.26", "adatum.example": "198.51.100.27",
		"tailspin.example": "198.51.100.28", "wingtip.example": "198.51.100.29", "litware.example": "198.51.100.30",
		"proseware.example": "198.51.100.31", "protonmail.example": "198.51.100.66",
	}
	subjects = []string{
		"Weekly sync", "Re: Q3 numbers", "Project Falcon status", "Lunch on Friday?", "FW: contract draft",
		"Invoice 2291", "Re: delivery schedule", "Training reminder", "Re: travel plans", "Updated agenda",
	}
	externalSenderIP = "203.0.113.200"
	exoOutboundIP    = "192.0.2.200" // what fromIP shows for mail the tenant's users send from Outlook
)

func mxIP(addr string) string {
	_, dom, _ := strings.Cut(addr, "@")
	if ip, ok := mxIPs[strings.ToLower(dom)]; ok {
		return ip
	}
	return ""
}

// isTenantAddress reports whether addr belongs to one of the tenant's domains.
func isTenantAddress(addr string) bool {
	_, dom, _ := strings.Cut(strings.ToLower(addr), "@")
	return dom == "contoso.com" || dom == "contoso.co.jp" || dom == "contoso.onmicrosoft.com"
}

// mailStory builds the story's messages (T0 as in buildStory).
func (t *Tenant) mailStory() ([]mtMsg, MailBurst) {
	victim := t.users[0]
	t0 := t.anchor.Truncate(time.Second).Add(-5 * 24 * time.Hour)
	sid := func(name string) string { return uuid.NewSHA1(t.ns, []byte("story/mail/"+name)).String() }
	var msgs []mtMsg
	var b MailBurst
	add := func(name string, at time.Time, sender, subject string, rcpts ...string) TraceMessage {
		m := mtMsg{tk: toTicks(at), id: sid(name), sender: sender, rcpts: rcpts, subject: subject,
			messageID: "<" + sid(name+"/msgid") + "@MN2PR00MB0670.namprd00.prod.outlook.com>",
			size:      int64(20000 + 977*len(name))}
		if isTenantAddress(sender) {
			m.fromIP = AttackerIP
		} else {
			m.fromIP = externalSenderIP
		}
		for _, r := range rcpts {
			st, ip := "delivered", ""
			if !isTenantAddress(r) {
				ip = mxIP(r)
			}
			m.statuses, m.toIPs = append(m.statuses, st), append(m.toIPs, ip)
		}
		msgs = append(msgs, m)
		return TraceMessage{TraceID: m.id, Sender: sender, Recipients: append([]string(nil), rcpts...), Time: at, Subject: subject}
	}
	from := victim.Mail
	b.MultiRecipient = add("phish", t0.Add(20*time.Minute), from, "Overdue invoice 4471 - updated payment details", partners[:8]...)
	for i := 0; i < 12; i++ {
		b.Singles = append(b.Singles, add(fmt.Sprintf("bec/%d", i), t0.Add(21*time.Minute+time.Duration(i)*40*time.Second), from,
			"Re: Updated bank details", partners[4+i%12]))
	}
	b.SelfAndOthers = add("self", t0.Add(33*time.Minute), from, "Payment confirmation", from, inboxRuleForwardTo, "j.doe@northwind.example")
	for i, d := range []time.Duration{40 * time.Minute, 2 * time.Hour, 5 * time.Hour} {
		b.Exfiltration = append(b.Exfiltration, add(fmt.Sprintf("exfil/%d", i), t0.Add(d), from,
			fmt.Sprintf("FW: %s", subjects[i]), inboxRuleForwardTo))
	}
	b.ProxyInbound = add("proxy", t0.Add(3*time.Hour), "billing@northwind.example", "Re: Overdue invoice 4471", "v.user@contoso.com")
	// The one recipient that bounced.
	msgs[1].statuses[0] = "failed"
	return msgs, b
}

// buildMessageTraces generates the background mail and merges the story.
func (t *Tenant) buildMessageTraces() {
	d := &t.mt
	msgs, _ := t.mailStory()
	n := t.cfg.MailPerUser
	end := toTicks(t.anchor)
	start := end - mtSpan
	if n > 0 {
		sent := int64(n) * mtSpan / spanTicks
		recv := sent / 2
		for _, u := range t.users {
			r := rng{s: mix64(u.key ^ 0x3a11)}
			gen := func(count int64, g func(i int64, at int64, r *rng)) {
				for i := int64(0); i < count; i++ {
					at := start + (2*i+1)*mtSpan/(2*count) + int64(r.intn(int(mtSpan/count/2+1))) - mtSpan/count/4
					g(i, at, &r)
				}
			}
			gen(sent, func(i, at int64, r *rng) {
				m := mtMsg{tk: at, id: uuid.NewSHA1(t.ns, []byte("mail/sent/"+u.ID+"/"+strconv.FormatInt(i, 10))).String(),
					sender: u.Mail, subject: subjects[r.intn(len(subjects))], size: int64(2000 + r.intn(200000)),
					fromIP: exoOutboundIP}
				m.messageID = "<" + r.uuid4() + "@" + strings.ToUpper(fmt.Sprintf("SN%dPR00MB%04d", 1+u.idx%7, u.key%10000)) + ".namprd00.prod.outlook.com>"
				k := 1 + r.intn(3)
				seen := map[string]bool{u.Mail: true}
				for len(m.rcpts) < k {
					var a string
					if r.intn(2) == 0 && len(t.users) > 1 {
						a = t.users[r.intn(len(t.users))].Mail
					} else {
						a = partners[r.intn(len(partners))]
					}
					if seen[a] {
						if len(seen) > len(partners) {
							break
						}
						continue
					}
					seen[a] = true
					st, ip := "delivered", ""
					if !isTenantAddress(a) {
						ip = mxIP(a)
						if r.intn(40) == 0 {
							st = "failed"
						}
					}
					m.rcpts, m.statuses, m.toIPs = append(m.rcpts, a), append(m.statuses, st), append(m.toIPs, ip)
				}
				if len(m.rcpts) > 0 {
					msgs = append(msgs, m)
				}
			})
			gen(recv, func(i, at int64, r *rng) {
				p := partners[r.intn(len(partners))]
				m := mtMsg{tk: at, id: uuid.NewSHA1(t.ns, []byte("mail/recv/"+u.ID+"/"+strconv.FormatInt(i, 10))).String(),
					sender: p, subject: "Re: " + subjects[r.intn(len(subjects))], size: int64(5000 + r.intn(400000)),
					fromIP: externalSenderIP, messageID: "<" + r.uuid4() + "@" + strings.SplitN(p, "@", 2)[1] + ">"}
				st := "delivered"
				switch r.intn(30) {
				case 0:
					st = "filteredAsSpam"
				case 1:
					st = "quarantined"
				}
				m.rcpts, m.statuses, m.toIPs = []string{u.Mail}, []string{st}, []string{""}
				msgs = append(msgs, m)
			})
		}
	}
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].tk < msgs[j].tk })
	d.msgs = msgs
	for i, m := range msgs {
		for r := range m.rcpts {
			d.rows = append(d.rows, mtRow{tk: m.tk, msg: int32(i), r: int16(r), ord: int64(len(d.rows))})
		}
	}
}

func (t *Tenant) traces() *mtData {
	t.mt.once.Do(t.buildMessageTraces)
	return &t.mt
}

// mtQuery is a validated message trace $filter.
type mtQuery struct {
	lo, hi                       int64 // [lo, hi) in ticks
	none                         bool
	sender, recipient, id, msgID strEq
	status, fromIP, toIP         strEq
}

func (q *mtQuery) canon() string {
	return fmt.Sprintf("mt|%d|%d|%t|%s|%s|%s|%s|%s|%s|%s", q.lo, q.hi, q.none, q.sender.canon(), q.recipient.canon(),
		q.id.canon(), q.msgID.canon(), q.status.canon(), q.fromIP.canon(), q.toIP.canon())
}

func (q *mtQuery) match(m *mtMsg, r int) bool {
	return q.sender.match(m.sender) && q.recipient.match(m.rcpts[r]) && q.id.match(m.id) && q.msgID.match(m.messageID) &&
		q.status.match(m.statuses[r]) && q.fromIP.match(m.fromIP) && q.toIP.match(m.toIPs[r])
}

func mtBad(format string, args ...any) *gerr {
	return &gerr{http.StatusBadRequest, "BadRequest", fmt.Sprintf(format, args...)}
}

// newMTQuery validates a messageTraces $filter against the documented rules
// at the tenant's now.
func newMTQuery(filter string, present bool, now int64) (*mtQuery, *gerr) {
	q := &mtQuery{lo: now - mtDefaultRange + 1, hi: now + 1}
	if !present {
		return q, nil
	}
	clauses, err := parseFilter(filter)
	if err != nil {
		return nil, err
	}
	var ge, le *int64
	for _, c := range clauses {
		var e *gerr
		switch c.prop {
		case "receivedDateTime":
			k, e2 := parseTimestamp(c.prop, c.val)
			if e2 != nil {
				return nil, e2
			}
			switch c.op {
			case "ge":
				if ge != nil {
					return nil, mtBad("Invalid filter: receivedDateTime ge may be specified only once.")
				}
				ge = &k
			case "le":
				if le != nil {
					return nil, mtBad("Invalid filter: receivedDateTime le may be specified only once.")
				}
				le = &k
			default:
				return nil, unsupported("Unsupported query: the operator '%s' is not supported for property 'receivedDateTime'; use ge and le.", c.op)
			}
		case "senderAddress":
			e = eqOnly(q, &q.sender, c)
		case "recipientAddress":
			e = eqOnly(q, &q.recipient, c)
		case "id":
			e = eqOnly(q, &q.id, c)
		case "messageId":
			e = eqOnly(q, &q.msgID, c)
		case "status":
			e = eqOnly(q, &q.status, c)
		case "fromIP":
			e = eqOnly(q, &q.fromIP, c)
		case "toIP":
			e = eqOnly(q, &q.toIP, c)
		default:
			e = unsupported("Unsupported or invalid query filter clause specified for property '%s' of resource 'exchangeMessageTrace'.", c.prop)
		}
		if e != nil {
			return nil, e
		}
	}
	switch {
	case ge == nil && le == nil:
		return q, nil
	case ge == nil || le == nil:
		return nil, mtBad("Invalid filter: specify both bounds of receivedDateTime (receivedDateTime ge {start} and receivedDateTime le {end}).")
	case *ge > *le:
		return nil, mtBad("Invalid filter: the receivedDateTime start must not be later than its end.")
	case *le-*ge > mtMaxInterval:
		return nil, mtBad("Invalid filter: the receivedDateTime interval must not exceed 10 days.")
	case *ge < now-mtMaxAge:
		return nil, mtBad("Invalid filter: the receivedDateTime start must not be more than 90 days before the current date.")
	case *le > now:
		return nil, mtBad("Invalid filter: the receivedDateTime end must not be later than the current date.")
	}
	q.lo, q.hi = *ge, *le+1
	return q, nil
}

func eqOnly(q *mtQuery, c *strEq, cl clause) *gerr {
	if cl.op != "eq" {
		return unsupported("Unsupported query: the operator '%s' is not supported for property '%s'; use eq.", cl.op, cl.prop)
	}
	s, err := stringValue(cl.prop, cl.val)
	if err != nil {
		return err
	}
	if !c.add(s) {
		q.none = true
	}
	return nil
}

// routeMessageTrace routes /admin/exchange/tracing/messageTraces[/{id}/getDetailsByRecipient(...)].
func (t *Tenant) routeMessageTrace(segs []string, notFound func(string) *gerr) (*endpoint, string, *gerr) {
	switch len(segs) {
	case 4:
		return &endpoint{class: "messagetrace", faults: true, handle: t.handleMessageTraces}, "", nil
	case 6:
		fn := segs[5]
		name, rest, _ := strings.Cut(fn, "(")
		if !strings.EqualFold(name, "getDetailsByRecipient") {
			return nil, "", notFound(fn)
		}
		arg, ok := strings.CutSuffix(rest, ")")
		key, val, ok2 := strings.Cut(arg, "=")
		if !ok || !ok2 || !strings.EqualFold(strings.TrimSpace(key), "recipientAddress") {
			return nil, "", mtBad("Invalid function call: getDetailsByRecipient requires recipientAddress='{address}'.")
		}
		toks, e := lex(strings.TrimSpace(val))
		if e != nil || len(toks) != 2 || toks[0].k != tString {
			return nil, "", mtBad("Invalid function call: recipientAddress must be a quoted string literal.")
		}
		id, rcpt := segs[4], toks[0].s
		return &endpoint{class: "messagetrace", faults: true, handle: func(rc *reqCtx, _ string) ([]byte, bool, *gerr) {
			return t.handleTraceDetails(rc, id, rcpt)
		}}, "", nil
	}
	return nil, "", notFound(segs[len(segs)-1])
}

// handleMessageTraces serves the list.
func (t *Tenant) handleMessageTraces(rc *reqCtx, _ string) ([]byte, bool, *gerr) {
	if t.cfg.NoMessageTraceSP {
		return nil, false, errNoMessageTraceSP
	}
	p, e := parseParams(rc.r.URL.RawQuery, "$filter", "$top", "$skiptoken")
	if e != nil {
		return nil, false, e
	}
	if t.cfg.IgnoreFilter {
		delete(p, "$filter")
	}
	filter, has := p.get("$filter")
	q, e := newMTQuery(filter, has, toTicks(t.Now()))
	if e != nil {
		return nil, false, e
	}
	top := mtDefaultTop
	if s, ok := p.get("$top"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > mtMaxTop {
			return nil, false, &gerr{http.StatusBadRequest, "BadRequest", "Invalid page size specified: '" + s + "'. Must be between 1 and 5000 inclusive."}
		}
		top = n
	}
	canon := q.canon()
	d := t.traces()
	// Served newest first: descending (tick, ord). i is one past the next
	// candidate in the ascending slice.
	i := sort.Search(len(d.rows), func(k int) bool { return d.rows[k].tk >= q.hi })
	if tok, ok := p.get("$skiptoken"); ok {
		v, e := t.decodeToken(tok, "v1.0/messageTraces", canon, 3, 1)
		if e != nil {
			return nil, false, e
		}
		if v[0] < 0 || v[0] > int64(len(d.rows)) {
			return nil, false, &gerr{http.StatusBadRequest, "Request_BadRequest", "Invalid skip token"}
		}
		i = int(v[0])
	}
	vals := jw{b: rc.buffer(64 << 10)}
	vals.openA()
	served := 0
	more := false
	for ; i > 0; i-- {
		row := &d.rows[i-1]
		if row.tk < q.lo {
			break
		}
		m := &d.msgs[row.msg]
		if q.none || !q.match(m, int(row.r)) {
			continue
		}
		if served == top {
			more = true
			break
		}
		appendTrace(&vals, m, int(row.r))
		served++
	}
	vals.closeA()
	out := jw{b: rc.buffer(len(vals.b) + 512)}
	out.open()
	out.key("@odata.context")
	out.str(rc.base + "/v1.0/$metadata#admin/exchange/tracing/messageTraces")
	if more {
		out.key("@odata.nextLink")
		out.str(nextLink(rc, "/v1.0/admin/exchange/tracing/messageTraces", p, t.encodeToken("v1.0/messageTraces", canon, 3, int64(i))))
	}
	out.key("value")
	out.b = append(out.b, vals.b...)
	out.close()
	return out.b, true, nil
}

func appendTrace(w *jw, m *mtMsg, r int) {
	w.open()
	w.key("id")
	w.str(m.id)
	w.key("senderAddress")
	w.str(m.sender)
	w.key("recipientAddress")
	w.str(m.rcpts[r])
	w.key("messageId")
	w.str(m.messageID)
	w.key("receivedDateTime")
	w.ts(m.tk)
	w.key("subject")
	w.str(m.subject)
	w.key("size")
	w.int(m.size)
	w.key("fromIP")
	w.str(m.fromIP)
	w.key("toIP")
	w.str(m.toIPs[r])
	w.key("status")
	w.str(m.statuses[r])
	w.close()
}

// handleTraceDetails serves getDetailsByRecipient: the events of one
// message for one recipient.
func (t *Tenant) handleTraceDetails(rc *reqCtx, id, rcpt string) ([]byte, bool, *gerr) {
	if t.cfg.NoMessageTraceSP {
		return nil, false, errNoMessageTraceSP
	}
	if _, e := parseParams(rc.r.URL.RawQuery); e != nil {
		return nil, false, e
	}
	d := t.traces()
	var m *mtMsg
	r := -1
	for i := range d.msgs {
		if strings.EqualFold(d.msgs[i].id, id) {
			for k, a := range d.msgs[i].rcpts {
				if strings.EqualFold(a, rcpt) {
					m, r = &d.msgs[i], k
				}
			}
		}
	}
	now := toTicks(t.Now())
	if m == nil || m.tk < now-mtMaxAge || m.tk > now {
		return nil, false, &gerr{http.StatusNotFound, "ResourceNotFound", "No message trace found for the given id and recipient."}
	}
	w := jw{b: make([]byte, 0, 2048)}
	w.open()
	w.key("@odata.context")
	w.str(rc.base + "/v1.0/$metadata#Collection(microsoft.graph.exchangeMessageTraceDetail)")
	w.key("value")
	w.openA()
	ev := func(dt int64, event, action, desc string) {
		w.open()
		w.key("id")
		w.str(m.id)
		w.key("messageId")
		w.str(m.messageID)
		w.key("dateTime")
		w.ts(m.tk + dt)
		w.key("event")
		w.str(event)
		w.key("action")
		w.str(action)
		w.key("description")
		w.str(desc)
		w.key("data")
		w.str(`<root><MEP Name="Recipient" String="` + m.rcpts[r] + `" /></root>`)
		w.close()
	}
	ev(0, "Receive", "", "Message received by: MN2PR00MB0670.namprd00.prod.outlook.com")
	switch st := m.statuses[r]; {
	case st == "failed":
		ev(3*ticksPerSecond, "Fail", "", "Reason: [{LED=550 5.1.1 RESOLVER.ADR.RecipNotFound; not found}]")
	case st == "filteredAsSpam", st == "quarantined":
		ev(2*ticksPerSecond, "Spam", "Quarantine", "The message was marked as spam.")
	case m.toIPs[r] != "":
		ev(4*ticksPerSecond, "Send external", "", "Message sent to "+m.toIPs[r]+" using TLS1.2 with AES256")
	default:
		ev(5*ticksPerSecond, "Deliver", "", "The message was successfully delivered.")
	}
	w.closeA()
	w.close()
	return w.b, true, nil
}

// TraceRows returns the message trace rows a sender or recipient of which is
// one of addrs (case-insensitively; every row when addrs is empty), received
// in [start, end), newest first as served. It ignores the 90-day limit:
// callers pass windows the API accepts.
func (t *Tenant) TraceRows(addrs []string, start, end time.Time) []TraceRow {
	d := t.traces()
	lo, hi := toTicksCeil(start), toTicksCeil(end)
	in := func(a string) bool {
		if len(addrs) == 0 {
			return true
		}
		for _, x := range addrs {
			if strings.EqualFold(x, a) {
				return true
			}
		}
		return false
	}
	var out []TraceRow
	for i := len(d.rows) - 1; i >= 0; i-- {
		row := d.rows[i]
		if row.tk >= hi {
			continue
		}
		if row.tk < lo {
			break
		}
		m := &d.msgs[row.msg]
		rcpt := m.rcpts[row.r]
		if in(m.sender) || in(rcpt) {
			out = append(out, TraceRow{ID: m.id, Sender: m.sender, Recipient: rcpt, Received: fromTicks(m.tk), Subject: m.subject, Status: m.statuses[row.r]})
		}
	}
	return out
}
