/* egressctl capture hot loop: walk pcap/pcapng records in one mapped window, parse each packet with the
 * shared parser (../pktparse.h) and look it up in the compiled policy tables (egressctl/verify/matcher.py).
 * Contract and semantics are those of capture/np_engine.py (the numpy path); tests hold both, and the
 * Python reference parser, to the same counters and leak records packet for packet.
 *
 * Every read is bounds-checked against the record's captured length and the window length: a hostile or
 * truncated file can make a packet "unverified" or stop the walk as corrupt, never read out of bounds.
 * Needs a C99 compiler with unsigned __int128 (gcc, clang).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h> /* first, as CPython requires: for the module init at the end */

#include "../pktparse.h"
#include "engine.h"

enum { C_PACKETS, C_BYTES, C_SUBJECT, C_PERMITTED, C_LEAKS, C_LEAK_BYTES, C_NOT_SUBJECT, C_NON_IP,
       C_TRUNCATED, C_FRAGMENT, C_MALFORMED, C_LINKTYPE, C_INTERFACE, C_VLAN, C_IPV4, C_IPV6, C_RELATED, C_N };
#define LEAK (-2)

static inline u128 ld(const uint64_t *a, int64_t i) { return ((u128)a[2 * i + 1] << 64) | a[2 * i]; }

/* Largest i with a[i] <= x, or -1. */
static int64_t rank(const uint64_t *a, int64_t n, u128 x) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = (lo + hi) >> 1;
        if (ld(a, mid) <= x) lo = mid + 1; else hi = mid;
    }
    return lo - 1;
}

static int inside(const eg_family *f, u128 x) {
    int64_t i = rank(f->inside_lo, f->n_inside, x);
    return i >= 0 && x <= ld(f->inside_hi, i);
}

static int32_t lookup(const eg_family *f, uint8_t proto, u128 src, u128 dst, int32_t sp, int32_t dp) {
    int64_t i = rank(f->bounds, f->n_bounds, dst);
    int32_t c = f->interval_class[i < 0 ? 0 : i];
    int32_t a = f->class_start[c], end = a + f->class_len[c];
    for (; a < end; a++) {
        if ((f->proto[a] == 0 || f->proto[a] == proto) && src >= ld(f->src_lo, a) && src <= ld(f->src_hi, a)
            && sp >= f->sp_lo[a] && sp <= f->sp_hi[a] && dp >= f->dp_lo[a] && dp <= f->dp_hi[a])
            return f->code[a];
    }
    return LEAK;
}

typedef struct {
    const uint8_t *p;
    int64_t caplen;
    uint32_t wirelen;
    int64_t ts_ns;
    int64_t linktype;
    uint16_t iface;
} eg_pkt;

static void emit(eg_state *s, const eg_pkt *k, const pp_pkt *r) {
    eg_leak out;
    int alen = r->family == 6 ? 16 : 4;
    const uint8_t *ip = r->p + r->l3;
    memset(&out, 0, sizeof out);
    out.ts_ns = k->ts_ns;
    out.wirelen = k->wirelen;
    out.sport = r->sport;
    out.dport = r->dport;
    out.family = r->family;
    out.proto = r->proto;
    out.iface = k->iface;
    memcpy(out.src, ip + (r->family == 6 ? 8 : 12), alen);
    memcpy(out.dst, ip + (r->family == 6 ? 24 : 16), alen);
    if (s->flows) {
        if (eg_flows_add(s->flows, &out) < 0) s->no_memory = 1;
        return;
    }
    memcpy(s->out + s->out_n * (int64_t)sizeof out, &out, sizeof out);
    s->out_n++;
}

/* The counter of a parser status (unverified reasons and non-IP). */
static const int STATUS_COUNTER[] = {C_PACKETS, C_NON_IP, C_TRUNCATED, C_FRAGMENT, C_MALFORMED, C_LINKTYPE};

static u128 addr(uint64_t h, uint64_t l) { return ((u128)h << 64) | l; }

/* An ICMP error that would be a leak by its own header, quoting a datagram of a flow the policy allows: the
 * quote travels inward (the error goes back to its sender), so the flow is the quote reversed, judged as a
 * packet leaving the site (matcher.py: CompiledPolicy.related). Runs on the leak path only. */
static int related(const eg_family *f, const pp_pkt *r) {
    pp_pkt q;
    if (pp_quote(r, &q) < 0) return 0;
    u128 qsrc = addr(q.src_h, q.src_l), qdst = addr(q.dst_h, q.dst_l);
    if (!inside(f, qdst) || inside(f, qsrc)) return 0;
    return lookup(f, q.proto, qdst, qsrc, q.dport, q.sport) >= 0;
}

/* A packet whose transport is parsed and which is leaving the site: permitted (rule hit), an ICMP error
 * of an allowed flow (related: counted, never a leak), or a leak. */
static void verdict(eg_state *s, const eg_policy *pol, const eg_pkt *k, const pp_pkt *r) {
    uint64_t *cnt = s->counters;
    cnt[C_SUBJECT]++;
    if (pol->is_normal) { cnt[C_PERMITTED]++; return; }
    const eg_family *f = &pol->fam[r->family == 6];
    u128 src = addr(r->src_h, r->src_l), dst = addr(r->dst_h, r->dst_l);
    int32_t code = lookup(f, r->proto, src, dst, r->sport, r->dport);
    if (code >= 0) {
        cnt[C_PERMITTED]++;
        s->rule_hits[code]++;
        return;
    }
    if (related(f, r)) { cnt[C_RELATED]++; return; }
    cnt[C_LEAKS]++;
    cnt[C_LEAK_BYTES] += k->wirelen;
    emit(s, k, r);
}

/* One packet: parse up to the addresses, stop there unless it leaves the site, then judge it. */
static void packet(eg_state *s, const eg_policy *pol, const eg_pkt *k) {
    uint64_t *cnt = s->counters;
    pp_pkt r;
    pp_init(&r, k->p, k->caplen);
    cnt[C_PACKETS]++;
    cnt[C_BYTES] += k->wirelen;
    if (pp_link(&r, k->linktype) < 0) { cnt[STATUS_COUNTER[r.status]]++; return; }
    if (r.tags) cnt[C_VLAN]++;
    if (pp_ip(&r) < 0) { cnt[STATUS_COUNTER[r.status]]++; return; }
    cnt[r.family == 6 ? C_IPV6 : C_IPV4]++;
    const eg_family *f = &pol->fam[r.family == 6];
    if (!inside(f, addr(r.src_h, r.src_l)) || inside(f, addr(r.dst_h, r.dst_l))) {
        cnt[C_NOT_SUBJECT]++;
        return;
    }
    if (pp_l4(&r) < 0) { cnt[STATUS_COUNTER[r.status]]++; return; }
    verdict(s, pol, k, &r);
}

static int64_t ts_ng(const eg_iface *f, uint32_t hi, uint32_t lo) {
    u128 t = ((u128)hi << 32) | lo;
    return (int64_t)(t * (u128)f->ts_mul / (u128)f->ts_div);
}

/* One pcapng block at s->pos (already known to fit): a packet, a skipped block, or a stop reason. */
static int ng_block(eg_state *s, const eg_policy *pol, const uint8_t *b, uint32_t type, uint32_t blen) {
    eg_pkt k;
    int64_t sw = s->swap, data, caplen;
    uint32_t ifid;
    if (type == 6 || type == 2) {
        if (blen < 32) return R_CORRUPT;
        ifid = type == 6 ? rd32(b + 8, sw) : rd16(b + 8, sw);
        caplen = rd32(b + 20, sw);
        k.wirelen = rd32(b + 24, sw);
        data = 28;
        if (caplen > (int64_t)blen - 32) return R_CORRUPT;
        if (ifid >= (uint32_t)s->n_ifaces) {
            s->counters[C_PACKETS]++;
            s->counters[C_BYTES] += k.wirelen;
            s->counters[C_INTERFACE]++;
            return -1;
        }
        k.ts_ns = ts_ng(&s->ifaces[ifid], rd32(b + 12, sw), rd32(b + 16, sw));
    } else if (type == 3) {
        if (blen < 16) return R_CORRUPT;
        ifid = 0;
        k.wirelen = rd32(b + 8, sw);
        data = 12;
        caplen = (int64_t)blen - 16;
        if (k.wirelen < caplen) caplen = k.wirelen;
        if (s->n_ifaces < 1) {
            s->counters[C_PACKETS]++;
            s->counters[C_BYTES] += k.wirelen;
            s->counters[C_INTERFACE]++;
            return -1;
        }
        if (s->ifaces[0].snaplen > 0 && caplen > s->ifaces[0].snaplen) caplen = s->ifaces[0].snaplen;
        k.ts_ns = 0;
    } else {
        return -1; /* not a packet: skipped */
    }
    k.p = b + data;
    k.caplen = caplen;
    k.linktype = s->ifaces[ifid].linktype;
    k.iface = (uint16_t)ifid;
    packet(s, pol, &k);
    return -1;
}

/* Records are read once, front to back, and the next record's place is known only once this one's length
 * is read: each record costs a cache miss that the hardware prefetcher, seeing sparse header reads, does
 * not hide. Asking for the bytes PREFETCH_AHEAD further on, as many as this record is long, streams the
 * file into the cache ahead of the walk (measured on the benchmark's capture: one core 1.5x faster; only
 * the next record's lines, or a shorter distance, helped less). */
#define PREFETCH_AHEAD 4096
static inline void ahead(const eg_state *s, int64_t n) {
    int64_t a = s->pos + PREFETCH_AHEAD, end = a + n;
    if (end > s->len) end = s->len;
    for (; a < end; a += 64) __builtin_prefetch(s->buf + a);
}

static int64_t walk(eg_state *s, const eg_policy *pol) {
    while (s->pos < s->len) {
        const uint8_t *b = s->buf + s->pos;
        int64_t left = s->len - s->pos;
        if (s->no_memory) return R_NO_MEMORY;
        if (!s->flows && s->out_n >= s->out_cap) return R_OUT_FULL;
        if (s->format == 1) {
            if (left < 16) return R_NEED_DATA;
            uint32_t incl = rd32(b + 8, s->swap);
            if (incl > MAX_PCAP_RECORD) return R_CORRUPT;
            if (left < 16 + (int64_t)incl) return R_NEED_DATA;
            ahead(s, 16 + (int64_t)incl);
            eg_pkt k;
            k.p = b + 16;
            k.caplen = incl;
            k.wirelen = rd32(b + 12, s->swap);
            k.ts_ns = (int64_t)rd32(b, s->swap) * 1000000000LL
                      + (int64_t)rd32(b + 4, s->swap) * s->ifaces[0].ts_mul;
            k.linktype = s->ifaces[0].linktype;
            k.iface = 0;
            packet(s, pol, &k);
            s->pos += 16 + incl;
            continue;
        }
        if (left < 8) return R_NEED_DATA;
        uint32_t type = rd32(b, s->swap);
        if (type == SHB_TYPE) return R_BLOCK;
        uint32_t blen = rd32(b + 4, s->swap);
        if (blen < 12 || (blen & 3) || blen > MAX_BLOCK) return R_CORRUPT;
        if (left < (int64_t)blen) return R_NEED_DATA;
        ahead(s, blen);
        if (rd32(b + blen - 4, s->swap) != blen) return R_CORRUPT;
        if (type == 1) return R_BLOCK;
        int r = ng_block(s, pol, b, type, blen);
        if (r >= 0) return r;
        s->pos += blen;
    }
    return s->no_memory ? R_NO_MEMORY : R_NEED_DATA;
}

/* The walk runs on a copy of the state and of the counters, on this thread's stack, written back once at
 * the end: threads analysing parts of one file each own a state and counters, but those small objects can
 * share a cache line with another thread's, and a write to them for every packet then bounces that line
 * between cores (measured: 30% slower on two threads, depending on where the allocator put them). */
int64_t eg_run(eg_state *s, const eg_policy *pol) {
    eg_state st = *s;
    uint64_t counters[C_N];
    memcpy(counters, s->counters, sizeof counters);
    st.counters = counters;
    int64_t reason = walk(&st, pol);
    memcpy(s->counters, counters, sizeof counters);
    s->pos = st.pos;
    s->out_n = st.out_n;
    s->no_memory = st.no_memory;
    return reason;
}

int64_t eg_record_size(void) { return (int64_t)sizeof(eg_leak); }
int64_t eg_state_size(void) { return (int64_t)sizeof(eg_state); }
int64_t eg_policy_size(void) { return (int64_t)sizeof(eg_policy); }
int64_t eg_flow_size(void) { return (int64_t)sizeof(eg_flow); }
int64_t eg_counter_count(void) { return C_N; }

/* setup.py builds this file as the optional extension module
 * egressctl.verify.capture._engine: a valid extension module with no Python functions.
 * egressctl/verify/native.py finds it through the import system and calls the functions above via ctypes.
 */
static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "egressctl.verify.capture._engine",
    "The C capture engine of egressctl (no Python functions: entry points called via ctypes).",
    -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__engine(void) { return PyModule_Create(&module_def); }
