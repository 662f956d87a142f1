/* egressctl live watch: walk one retired TPACKET_V3 block and parse every packet into a fixed record.
 *
 * The walk is the only sequential step (tp_next_offset chains the packets), so it is done here, once per
 * packet, in cache; classification then runs vectorised over the records with the compiled policy
 * (egressctl/verify/matcher.py). Packets are parsed by the shared parser (../pktparse.h): the 802.1Q tag a
 * live Linux socket strips is read from the header (TP_STATUS_VLAN_VALID) and given to the parser, tags
 * still inside the frame (QinQ) are walked by it. Every read is bounds-checked against the snapshot length
 * and the block length. watch/pywalk.py gives the same records in Python (tests compare both).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h> /* first, as CPython requires: for the module init at the end */

#include <stdint.h>
#include <string.h>

#include "../pktparse.h"

typedef struct {
    int64_t ts_ns;
    uint64_t src_h, src_l, dst_h, dst_l; /* IPv4: value in *_l, *_h = 0 */
    uint32_t wirelen;
    uint16_t sport, dport;
    uint16_t vlan;                       /* 802.1Q VID, valid when vflag */
    uint8_t family, proto, status, vflag;
    uint8_t quote, q_proto;              /* an ICMP error's quote (pp_quote): 1 when trusted; its protocol */
    uint64_t q_dst_h, q_dst_l;           /* the quoted destination (its source is this packet's destination) */
    uint16_t q_sport, q_dport;           /* the quoted ports (TCP/UDP) */
    uint32_t pad;
} wr_rec; /* 80 bytes, the numpy dtype RECORD in watch/records.py */

#define TP_STATUS_VLAN_VALID (1u << 4)

static inline uint32_t host32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v; /* the ring is in host order; egressctl targets little- and big-endian hosts alike */
}
static inline uint16_t host16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* Parse one Ethernet frame into *r (vflag/vlan: a tag the kernel already removed), and the quote of an ICMP
 * error: the agent needs it when the error's own header makes it a leak (a related error is not one). */
static void frame(wr_rec *r, const uint8_t *p, int64_t n, int vflag, uint16_t vlan) {
    pp_pkt k;
    pp_init(&k, p, n);
    k.vflag = (uint8_t)vflag;
    k.vlan = vlan;
    pp_parse(&k, 1);
    r->src_h = k.src_h;
    r->src_l = k.src_l;
    r->dst_h = k.dst_h;
    r->dst_l = k.dst_l;
    r->sport = k.sport;
    r->dport = k.dport;
    r->vlan = k.vlan;
    r->vflag = k.vflag;
    r->family = k.family;
    r->proto = k.proto;
    r->status = k.status;
    pp_pkt q;
    if (pp_quote(&k, &q) == 0) {
        r->quote = 1;
        r->q_proto = q.proto;
        r->q_dst_h = q.dst_h;
        r->q_dst_l = q.dst_l;
        r->q_sport = q.sport;
        r->q_dport = q.dport;
    }
}

/* Walk the block at b (blen bytes): one record per packet into out (cap records). Returns the number
 * of records, or -1 when the block is malformed (the caller counts its packets as unverified). */
int64_t wr_block(const uint8_t *b, int64_t blen, wr_rec *out, int64_t cap) {
    if (blen < 48) return -1;
    uint32_t num = host32(b + 12), off = host32(b + 16);
    int64_t n = 0;
    for (uint32_t i = 0; i < num; i++) {
        if (n >= cap || off < 48 || (int64_t)off + 48 > blen) return -1;
        const uint8_t *h = b + off;
        uint32_t next = host32(h), snap = host32(h + 12), len = host32(h + 16), status = host32(h + 20);
        uint16_t mac = host16(h + 24);
        wr_rec *r = &out[n++];
        memset(r, 0, sizeof *r);
        r->ts_ns = (int64_t)host32(h + 4) * 1000000000LL + host32(h + 8);
        r->wirelen = len;
        int vflag = (status & TP_STATUS_VLAN_VALID) != 0;
        uint16_t vlan = vflag ? (uint16_t)(host32(h + 32) & 0x0FFF) : 0;
        if ((int64_t)off + mac + snap > blen) {
            r->status = PP_MALFORMED;
            r->vflag = (uint8_t)vflag;
            r->vlan = vlan;
        } else {
            frame(r, h + mac, snap, vflag, vlan);
        }
        if (next == 0) break;
        off += next;
    }
    return n;
}

int64_t wr_record_size(void) { return (int64_t)sizeof(wr_rec); }

/* setup.py builds this file as the optional extension module
 * egressctl.verify.watch._ring_walk: a valid extension module with no Python functions.
 * egressctl/verify/native.py finds it through the import system and calls the functions above via ctypes.
 */
static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "egressctl.verify.watch._ring_walk",
    "The C ring walker of egressctl's live watch (no Python functions: entry points called via ctypes).",
    -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__ring_walk(void) { return PyModule_Create(&module_def); }
