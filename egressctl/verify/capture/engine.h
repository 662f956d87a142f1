/* Types shared by the C capture engine's files: the hot loop (engine.c), the leak-flow table (flows.c) and
 * the record-boundary finder used to split a capture between threads (resync.c). Their Python mirrors are
 * the ctypes structures of capture/c_engine.py and capture/cflows.py, checked by size at load.
 */
#ifndef EGRESSCTL_CAPTURE_ENGINE_H
#define EGRESSCTL_CAPTURE_ENGINE_H

#include <stdint.h>
#include <string.h>

typedef unsigned __int128 u128;

enum { R_NEED_DATA = 0, R_OUT_FULL = 1, R_BLOCK = 2, R_CORRUPT = 3, R_NO_MEMORY = 4 };
#define MAX_PCAP_RECORD 0x4000000u
#define MAX_BLOCK 0x10000000u
#define SHB_TYPE 0x0A0D0D0Au

typedef struct {
    const uint64_t *inside_lo, *inside_hi;   /* pairs (low 64 bits, high 64 bits) */
    const uint64_t *bounds;                  /* pairs */
    const int32_t *interval_class, *class_start, *class_len;
    const uint8_t *proto;
    const uint64_t *src_lo, *src_hi;         /* pairs */
    const int32_t *sp_lo, *sp_hi, *dp_lo, *dp_hi, *code;
    int64_t n_inside, n_bounds;
} eg_family;

typedef struct {
    eg_family fam[2];
    int64_t is_normal;
} eg_policy;

typedef struct {
    int64_t linktype, snaplen, ts_mul, ts_div;
} eg_iface;

typedef struct eg_flows eg_flows;

typedef struct {
    const uint8_t *buf;
    int64_t len, pos, format, swap;
    const eg_iface *ifaces;
    int64_t n_ifaces;
    uint64_t *counters, *rule_hits;
    uint8_t *out;
    int64_t out_cap, out_n;
    eg_flows *flows;   /* when set, leaks are folded into this table instead of written to out */
    int64_t no_memory; /* set when the table could not grow: eg_run returns R_NO_MEMORY */
} eg_state;

/* One leak packet (the records the numpy engine produces too, byte for byte). */
typedef struct {
    int64_t ts_ns;
    uint32_t wirelen;
    uint16_t sport, dport;
    uint8_t family, proto;
    uint16_t iface;
    uint8_t src[16], dst[16];
    uint32_t pad;
} eg_leak;

/* One leak flow: the 5-tuple (addresses zero-padded for IPv4), packets, bytes, first and last seen. */
typedef struct {
    uint8_t family, proto;
    uint16_t sport, dport, pad;
    uint8_t src[16], dst[16];
    uint64_t packets, bytes;
    int64_t first_ns, last_ns;
} eg_flow;

int eg_flows_add(eg_flows *t, const eg_leak *leak);

static inline uint32_t rd32(const uint8_t *p, int64_t swap) {
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}
static inline uint16_t rd16(const uint8_t *p, int64_t swap) {
    uint16_t v;
    memcpy(&v, p, 2);
    return swap ? __builtin_bswap16(v) : v;
}

#endif
