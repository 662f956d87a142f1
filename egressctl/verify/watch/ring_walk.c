/* egressctl live watch: walk one retired TPACKET_V3 block and parse every packet into a fixed record.
 *
 * The walk is the only sequential step (tp_next_offset chains the packets), so it is done here, once per
 * packet, in cache; classification then runs vectorised over the records with the compiled policy
 * (egressctl/verify/matcher.py). The 802.1Q tag a live Linux socket strips is read from the header
 * (TP_STATUS_VLAN_VALID); tags still inside the frame (QinQ) are walked. IPv4 options are skipped by IHL,
 * IPv6 extension headers are walked; non-first fragments, truncated and malformed packets get a status
 * that makes them "unverified", never passed. Every read is bounds-checked against the snapshot length
 * and the block length. Contract mirrored by watch_parse.py (pure Python fallback; tests compare both).
 */
#include <stdint.h>
#include <string.h>

typedef struct {
    int64_t ts_ns;
    uint64_t src_h, src_l, dst_h, dst_l; /* IPv4: value in *_l, *_h = 0 */
    uint32_t wirelen;
    uint16_t sport, dport;
    uint16_t vlan;                       /* 802.1Q VID, valid when vflag */
    uint8_t family, proto, status, vflag;
    uint16_t pad;
} wr_rec; /* 56 bytes, the numpy dtype RECORD in watch_ring.py */

enum { S_OK = 0, S_NON_IP = 1, S_TRUNCATED = 2, S_FRAGMENT = 3, S_MALFORMED = 4 };
#define TP_STATUS_VLAN_VALID (1u << 4)

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t be64(const uint8_t *p) { return ((uint64_t)be32(p) << 32) | be32(p + 4); }
static inline uint32_t le32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v; /* the ring is in host order; egressctl targets little- and big-endian hosts alike */
}
static inline uint16_t le16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static void ports(wr_rec *r, const uint8_t *l4, int64_t n) {
    if (r->proto == 6 || r->proto == 17) {
        if (n < 4) { r->status = S_TRUNCATED; return; }
        r->sport = be16(l4);
        r->dport = be16(l4 + 2);
    }
}

static void ipv4(wr_rec *r, const uint8_t *p, int64_t n) {
    if (n < 20) { r->status = S_TRUNCATED; return; }
    int64_t ihl = (int64_t)(p[0] & 15) * 4;
    if ((p[0] >> 4) != 4 || ihl < 20) { r->status = S_MALFORMED; return; }
    r->family = 4;
    r->proto = p[9];
    r->src_l = be32(p + 12);
    r->dst_l = be32(p + 16);
    if (be16(p + 6) & 0x1FFF) { r->status = S_FRAGMENT; return; }
    if (n < ihl) { r->status = S_TRUNCATED; return; }
    ports(r, p + ihl, n - ihl);
}

static void ipv6(wr_rec *r, const uint8_t *p, int64_t n) {
    if (n < 40) { r->status = S_TRUNCATED; return; }
    if ((p[0] >> 4) != 6) { r->status = S_MALFORMED; return; }
    r->family = 6;
    r->src_h = be64(p + 8);
    r->src_l = be64(p + 16);
    r->dst_h = be64(p + 24);
    r->dst_l = be64(p + 32);
    uint8_t nh = p[6];
    int64_t pos = 40;
    for (int i = 0;; i++) {
        if (nh != 0 && nh != 43 && nh != 44 && nh != 51 && nh != 60 && nh != 135 && nh != 139 && nh != 140)
            break;
        if (i >= 16) { r->status = S_MALFORMED; return; }
        if (n < pos + 8) { r->proto = nh; r->status = S_TRUNCATED; return; }
        uint8_t next = p[pos];
        if (nh == 44) {
            if (be16(p + pos + 2) & 0xFFF8) { r->proto = next; r->status = S_FRAGMENT; return; }
            pos += 8;
        } else if (nh == 51) {
            pos += ((int64_t)p[pos + 1] + 2) * 4;
        } else {
            pos += ((int64_t)p[pos + 1] + 1) * 8;
        }
        nh = next;
    }
    r->proto = nh;
    if (n < pos) { r->status = S_TRUNCATED; return; }
    ports(r, p + pos, n - pos);
}

/* Parse one Ethernet frame (tag already removed by the kernel, if any) into *r. */
static void frame(wr_rec *r, const uint8_t *p, int64_t n) {
    if (n < 14) { r->status = S_TRUNCATED; return; }
    uint16_t et = be16(p + 12);
    int64_t off = 14;
    int tags = 0;
    while (et == 0x8100 || et == 0x88A8 || et == 0x9100) {
        if (++tags > 8) { r->status = S_MALFORMED; return; }
        if (n < off + 4) { r->status = S_TRUNCATED; return; }
        if (!r->vflag) { r->vflag = 1; r->vlan = be16(p + off) & 0x0FFF; }
        et = be16(p + off + 2);
        off += 4;
    }
    if (et == 0x0800) ipv4(r, p + off, n - off);
    else if (et == 0x86DD) ipv6(r, p + off, n - off);
    else r->status = S_NON_IP;
}

/* Walk the block at b (blen bytes): one record per packet into out (cap records). Returns the number
 * of records, or -1 when the block is malformed (the caller counts its packets as unverified). */
int64_t wr_block(const uint8_t *b, int64_t blen, wr_rec *out, int64_t cap) {
    if (blen < 48) return -1;
    uint32_t num = le32(b + 12), off = le32(b + 16);
    int64_t n = 0;
    for (uint32_t i = 0; i < num; i++) {
        if (n >= cap || off < 48 || (int64_t)off + 48 > blen) return -1;
        const uint8_t *h = b + off;
        uint32_t next = le32(h), snap = le32(h + 12), len = le32(h + 16), status = le32(h + 20);
        uint16_t mac = le16(h + 24);
        wr_rec *r = &out[n++];
        memset(r, 0, sizeof *r);
        r->ts_ns = (int64_t)le32(h + 4) * 1000000000LL + le32(h + 8);
        r->wirelen = len;
        if (status & TP_STATUS_VLAN_VALID) { r->vflag = 1; r->vlan = (uint16_t)(le32(h + 32) & 0x0FFF); }
        if ((int64_t)off + mac + snap > blen) r->status = S_MALFORMED;
        else frame(r, h + mac, snap);
        if (next == 0) break;
        off += next;
    }
    return n;
}

int64_t wr_record_size(void) { return (int64_t)sizeof(wr_rec); }
