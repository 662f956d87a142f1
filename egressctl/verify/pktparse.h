/* egressctl packet parser: the one definition of link-layer, VLAN, IPv4/IPv6, IPv6 extension-header and
 * port parsing that both C helpers include (capture/engine.c, watch/ring_walk.c). Its Python reference is
 * egressctl/verify/pktparse.py; tests hold both helpers, the numpy capture engine and that reference to
 * the same results on the same packets.
 *
 * Three steps, so the capture engine can stop once the addresses show a packet is not leaving the site:
 *   pp_link  link layer and in-frame VLAN tags (802.1Q, 802.1ad, QinQ up to 8 tags),
 *   pp_ip    IP version, header length and addresses (family is non-zero once they are known),
 *   pp_l4    non-first fragments, the IPv6 extension-header chain, and TCP/UDP ports.
 * Each returns 0 to go on, or -1 with r->status set to the first problem found. A verdict needs the ports
 * only for TCP and UDP, so only those are "truncated" when the transport header is cut short.
 * A fourth, pp_quote, parses the datagram an ICMP error quotes (callers use it only for a packet that
 * would otherwise be a leak: an error related to an allowed flow is not one, as stateful firewalls agree).
 *
 * Every read is bounds-checked against r->n (the captured length): a hostile or truncated packet gets a
 * status, never a read out of bounds. Only stdint/string: no other dependency than a C99 compiler.
 */
#ifndef EGRESSCTL_PKTPARSE_H
#define EGRESSCTL_PKTPARSE_H

#include <stdint.h>
#include <string.h>

enum { PP_OK = 0, PP_NON_IP = 1, PP_TRUNCATED = 2, PP_FRAGMENT = 3, PP_MALFORMED = 4, PP_LINKTYPE = 5 };
#define PP_MAX_TAGS 8
#define PP_MAX_EXT 16

typedef struct {
    const uint8_t *p;                     /* first byte of the link layer */
    int64_t n;                            /* captured length */
    int64_t l3, l4;                       /* offsets of the IP header and of the transport header */
    uint64_t src_h, src_l, dst_h, dst_l;  /* addresses; IPv4 in *_l with *_h = 0 */
    uint16_t et, sport, dport, vlan;      /* ethertype; ports (TCP/UDP); VID of the first tag */
    uint8_t family, proto, status;        /* 4/6 once addresses are read; last next-header read */
    uint8_t vflag, tags;                  /* vlan is set; in-frame tags walked (0 if the walk failed) */
} pp_pkt;

static inline uint16_t pp_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t pp_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t pp_be64(const uint8_t *p) { return ((uint64_t)pp_be32(p) << 32) | pp_be32(p + 4); }

static inline int pp_fail(pp_pkt *r, uint8_t status) {
    r->status = status;
    return -1;
}

static inline void pp_init(pp_pkt *r, const uint8_t *p, int64_t n) {
    memset(r, 0, sizeof *r);
    r->p = p;
    r->n = n;
}

static inline int pp_is_vlan(uint16_t et) { return et == 0x8100 || et == 0x88A8 || et == 0x9100; }

static inline int pp_is_v6_ext(uint8_t nh) {
    return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60 || nh == 135 || nh == 139 || nh == 140;
}

/* Walk in-frame VLAN tags from offset off (ethertype already in r->et). */
static inline int pp_tags(pp_pkt *r, int64_t off) {
    int tags = 0;
    while (pp_is_vlan(r->et)) {
        if (++tags > PP_MAX_TAGS) return pp_fail(r, PP_MALFORMED);
        if (r->n < off + 4) return pp_fail(r, PP_TRUNCATED);
        if (!r->vflag) {
            r->vflag = 1;
            r->vlan = pp_be16(r->p + off) & 0x0FFF;
        }
        r->et = pp_be16(r->p + off + 2);
        off += 4;
    }
    r->tags = (uint8_t)tags;
    r->l3 = off;
    return 0;
}

/* Link layer by pcap link type: Ethernet (1), Linux cooked v1 (113) and v2 (276), raw IP (101, 12, 14),
 * raw IPv4 (228) and raw IPv6 (229). */
static inline int pp_link(pp_pkt *r, int64_t linktype) {
    const uint8_t *p = r->p;
    int64_t n = r->n;
    switch (linktype) {
    case 1:
    case 113: {
        int64_t off = linktype == 1 ? 14 : 16;
        if (n < off) return pp_fail(r, PP_TRUNCATED);
        r->et = pp_be16(p + off - 2);
        return pp_tags(r, off);
    }
    case 276:
        if (n < 20) return pp_fail(r, PP_TRUNCATED);
        r->et = pp_be16(p);
        return pp_tags(r, 20);
    case 101:
    case 12:
    case 14:
        if (n < 1) return pp_fail(r, PP_TRUNCATED);
        r->et = (p[0] >> 4) == 4 ? 0x0800 : (p[0] >> 4) == 6 ? 0x86DD : 0;
        if (!r->et) return pp_fail(r, PP_MALFORMED);
        return 0;
    case 228:
        r->et = 0x0800;
        return 0;
    case 229:
        r->et = 0x86DD;
        return 0;
    default:
        return pp_fail(r, PP_LINKTYPE);
    }
}

/* IP header: version, header length, protocol and addresses. */
static inline int pp_ip(pp_pkt *r) {
    const uint8_t *p = r->p + r->l3;
    int64_t n = r->n - r->l3;
    if (r->et == 0x0800) {
        if (n < 20) return pp_fail(r, PP_TRUNCATED);
        if ((p[0] >> 4) != 4 || (p[0] & 15) < 5) return pp_fail(r, PP_MALFORMED);
        r->family = 4;
        r->proto = p[9];
        r->src_l = pp_be32(p + 12);
        r->dst_l = pp_be32(p + 16);
        r->l4 = r->l3 + (int64_t)(p[0] & 15) * 4;
        return 0;
    }
    if (r->et == 0x86DD) {
        if (n < 40) return pp_fail(r, PP_TRUNCATED);
        if ((p[0] >> 4) != 6) return pp_fail(r, PP_MALFORMED);
        r->family = 6;
        r->proto = p[6];
        r->src_h = pp_be64(p + 8);
        r->src_l = pp_be64(p + 16);
        r->dst_h = pp_be64(p + 24);
        r->dst_l = pp_be64(p + 32);
        r->l4 = r->l3 + 40;
        return 0;
    }
    return pp_fail(r, PP_NON_IP);
}

/* IPv6 extension headers from r->l4: hop-by-hop, routing, fragment, AH, destination options, mobility,
 * HIP, shim6. A fragment header with a non-zero offset makes the packet a non-first fragment. */
static inline int pp_v6_ext(pp_pkt *r) {
    const uint8_t *p = r->p + r->l3;
    int64_t n = r->n - r->l3, pos = r->l4 - r->l3;
    for (int i = 0; pp_is_v6_ext(r->proto); i++) {
        if (i >= PP_MAX_EXT) return pp_fail(r, PP_MALFORMED);
        if (n < pos + 8) return pp_fail(r, PP_TRUNCATED);
        uint8_t next = p[pos];
        if (r->proto == 44) {
            if (pp_be16(p + pos + 2) & 0xFFF8) {
                r->proto = next;
                return pp_fail(r, PP_FRAGMENT);
            }
            pos += 8;
        } else if (r->proto == 51) {
            pos += ((int64_t)p[pos + 1] + 2) * 4;
        } else {
            pos += ((int64_t)p[pos + 1] + 1) * 8;
        }
        r->proto = next;
    }
    r->l4 = r->l3 + pos;
    return 0;
}

/* Transport: fragments, the IPv6 extension chain, and TCP/UDP ports. */
static inline int pp_l4(pp_pkt *r) {
    if (r->family == 4 && (pp_be16(r->p + r->l3 + 6) & 0x1FFF)) return pp_fail(r, PP_FRAGMENT);
    if (r->family == 6 && pp_v6_ext(r) < 0) return -1;
    if (r->proto == 6 || r->proto == 17) {
        if (r->n - r->l4 < 4) return pp_fail(r, PP_TRUNCATED);
        r->sport = pp_be16(r->p + r->l4);
        r->dport = pp_be16(r->p + r->l4 + 2);
    }
    return 0;
}

/* ICMP errors (ICMPv4 destination unreachable, source quench, redirect, time exceeded, parameter problem;
 * ICMPv6 destination unreachable, packet too big, time exceeded, parameter problem): a fully parsed packet
 * whose ICMP header (8 bytes, then the quote) was captured. */
static inline int pp_icmp_error(const pp_pkt *r) {
    if (r->status != PP_OK || r->n - r->l4 < 8) return 0;
    uint8_t t = r->p[r->l4];
    if (r->family == 4 && r->proto == 1) return t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
    if (r->family == 6 && r->proto == 58) return t >= 1 && t <= 4;
    return 0;
}

/* The datagram an ICMP error r quotes, parsed into q (raw IP of r's family from r->l4 + 8): 0 when the
 * quote is a whole IP header (the IPv6 extension chain too), not a non-first fragment, with the ports of
 * TCP and UDP, and sent by the error's destination (the error goes back to the sender of what it quotes,
 * as conntrack demands: otherwise the quote is not this error's); -1 otherwise (judge r by its own header).
 */
static inline int pp_quote(const pp_pkt *r, pp_pkt *q) {
    if (!pp_icmp_error(r)) return -1;
    pp_init(q, r->p + r->l4 + 8, r->n - r->l4 - 8);
    q->et = r->family == 6 ? 0x86DD : 0x0800;
    if (pp_ip(q) < 0 || pp_l4(q) < 0 || q->l4 > q->n) return -1;
    return q->src_h == r->dst_h && q->src_l == r->dst_l ? 0 : -1;
}

/* All three steps (callers that do not stop early: the watch's ring walker). */
static inline void pp_parse(pp_pkt *r, int64_t linktype) {
    if (pp_link(r, linktype) == 0 && pp_ip(r) == 0) pp_l4(r);
}

#endif
