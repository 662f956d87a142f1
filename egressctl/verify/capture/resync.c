/* Where to cut a capture for threads: the first offset, from a given one on, that looks like the start of a
 * record (pcap) or block (pcapng) because `chain` records in a row parse plausibly from it.
 *
 * Only a guess, and never trusted: the thread that analyses the part before a cut must end exactly on it
 * (capture/parallel.py checks), otherwise the rest of the file is analysed again from the last proven
 * cut, one record after another. A wrong guess costs time, never a wrong count. The checks are therefore
 * chosen to make a guess in packet payload (zero runs, another capture inside a capture) unlikely: time
 * stamps near the file's first one, a captured length within the snap length and the wire length, pcapng's
 * trailing block length and known block types.
 */
#include "engine.h"

typedef struct {
    int64_t format, swap;
    int64_t max_caplen;   /* pcap: largest plausible captured length (the snap length) */
    int64_t frac_max;     /* pcap: 1000000 for microsecond files, 1000000000 for nanosecond ones */
    int64_t ts_lo, ts_hi; /* pcap: plausible seconds */
    int64_t n_ifaces;     /* pcapng: interfaces described so far (an EPB names one of them) */
    int64_t chain;        /* records in a row that must parse */
    int64_t at_eof;       /* the buffer ends where the file does: a chain may end there */
} eg_sync;

/* Length of a plausible pcap record at p, or 0. */
static int64_t pcap_len(const uint8_t *b, int64_t len, int64_t p, const eg_sync *q) {
    if (len - p < 16) return 0;
    uint32_t sec = rd32(b + p, q->swap), frac = rd32(b + p + 4, q->swap);
    uint32_t incl = rd32(b + p + 8, q->swap), orig = rd32(b + p + 12, q->swap);
    if (incl > q->max_caplen || incl > orig || orig > MAX_PCAP_RECORD || frac >= q->frac_max) return 0;
    if (sec < q->ts_lo || sec > q->ts_hi || len - p - 16 < (int64_t)incl) return 0;
    return 16 + (int64_t)incl;
}

static int known_block(uint32_t type) {
    return (type >= 1 && type <= 6) || type == 9 || type == 10 || type == SHB_TYPE || type == 0xBAD
           || type == 0x40000BAD;
}

/* Length of a plausible pcapng block at p, or 0. */
static int64_t ng_len(const uint8_t *b, int64_t len, int64_t p, const eg_sync *q) {
    if (len - p < 12) return 0;
    uint32_t type = rd32(b + p, q->swap), blen = rd32(b + p + 4, q->swap);
    if (!known_block(type) || blen < 12 || (blen & 3) || blen > MAX_BLOCK || len - p < (int64_t)blen) return 0;
    if (rd32(b + p + blen - 4, q->swap) != blen) return 0;
    if (type == 6) {
        if (blen < 32 || rd32(b + p + 8, q->swap) >= q->n_ifaces) return 0;
        if (rd32(b + p + 20, q->swap) > blen - 32) return 0;
    }
    return blen;
}

static int chain_ok(const uint8_t *b, int64_t len, int64_t p, const eg_sync *q) {
    for (int64_t i = 0; i < q->chain; i++) {
        if (p == len) return q->at_eof && i > 0;
        int64_t n = q->format == 1 ? pcap_len(b, len, p, q) : ng_len(b, len, p, q);
        if (!n) return 0;
        p += n;
    }
    return 1;
}

/* First offset in [from, limit) where a chain starts (pcapng: 4-byte aligned), or -1. */
int64_t eg_resync(const uint8_t *buf, int64_t len, int64_t from, int64_t limit, const eg_sync *q) {
    int64_t step = q->format == 1 ? 1 : 4;
    if (step == 4) from = (from + 3) & ~(int64_t)3;
    if (limit > len) limit = len;
    for (int64_t p = from; p < limit; p += step)
        if (chain_ok(buf, len, p, q)) return p;
    return -1;
}

int64_t eg_sync_size(void) { return (int64_t)sizeof(eg_sync); }
