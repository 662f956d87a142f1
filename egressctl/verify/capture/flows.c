/* Leak flows folded in C: a hash table from 5-tuple to packets, bytes, first and last seen.
 *
 * Why here and not in Python: a capture's leaks are aggregated as they are found, inside the thread that
 * walks its part of the file, so neither a leak-heavy capture nor threads cost Python work per leak, and
 * the C path of ``verify --pcap`` never needs numpy. One table per thread; tables are merged (sums, min and
 * max: the order packets are folded in does not matter) and exported once. Memory follows the number of
 * distinct flows, never the file's size.
 *
 * Open addressing with linear probing, at most half full; an empty slot has packets == 0.
 */
#include <stdlib.h>

#include "engine.h"

#define KEY_BYTES 40 /* family, proto, ports, pad, src, dst: the first 40 bytes of eg_flow */
#define FIRST_CAP 1024

struct eg_flows {
    eg_flow *slot;
    int64_t cap, n;
};

static uint64_t hash(const eg_flow *f) {
    uint64_t w[5], h = 0x243F6A8885A308D3ull;
    memcpy(w, f, KEY_BYTES);
    for (int i = 0; i < 5; i++) {
        h = (h ^ w[i]) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    return h;
}

/* The slot holding f's key, or the empty slot where it belongs. */
static eg_flow *find(const eg_flows *t, const eg_flow *f) {
    uint64_t mask = (uint64_t)t->cap - 1, i = hash(f) & mask;
    while (t->slot[i].packets && memcmp(&t->slot[i], f, KEY_BYTES) != 0) i = (i + 1) & mask;
    return &t->slot[i];
}

static int grow(eg_flows *t) {
    eg_flows bigger = {calloc((size_t)t->cap * 2, sizeof(eg_flow)), t->cap * 2, t->n};
    if (!bigger.slot) return -1;
    for (int64_t i = 0; i < t->cap; i++)
        if (t->slot[i].packets) *find(&bigger, &t->slot[i]) = t->slot[i];
    free(t->slot);
    *t = bigger;
    return 0;
}

/* Fold one flow (packets >= 1) into t: 0, or -1 when the table could not grow. */
static int fold(eg_flows *t, const eg_flow *f) {
    if (2 * (t->n + 1) > t->cap && grow(t) < 0) return -1;
    eg_flow *e = find(t, f);
    if (!e->packets) {
        *e = *f;
        t->n++;
        return 0;
    }
    e->packets += f->packets;
    e->bytes += f->bytes;
    if (f->first_ns < e->first_ns) e->first_ns = f->first_ns;
    if (f->last_ns > e->last_ns) e->last_ns = f->last_ns;
    return 0;
}

int eg_flows_add(eg_flows *t, const eg_leak *leak) {
    eg_flow f;
    memset(&f, 0, sizeof f);
    f.family = leak->family;
    f.proto = leak->proto;
    f.sport = leak->sport;
    f.dport = leak->dport;
    memcpy(f.src, leak->src, 16);
    memcpy(f.dst, leak->dst, 16);
    f.packets = 1;
    f.bytes = leak->wirelen;
    f.first_ns = f.last_ns = leak->ts_ns;
    return fold(t, &f);
}

eg_flows *eg_flows_new(void) {
    eg_flows *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->slot = calloc(FIRST_CAP, sizeof(eg_flow));
    if (!t->slot) {
        free(t);
        return NULL;
    }
    t->cap = FIRST_CAP;
    return t;
}

void eg_flows_free(eg_flows *t) {
    if (!t) return;
    free(t->slot);
    free(t);
}

int64_t eg_flows_len(const eg_flows *t) { return t->n; }

/* Fold every flow of src into dst: 0, or -1 when dst could not grow. */
int64_t eg_flows_merge(eg_flows *dst, const eg_flows *src) {
    for (int64_t i = 0; i < src->cap; i++)
        if (src->slot[i].packets && fold(dst, &src->slot[i]) < 0) return -1;
    return 0;
}

/* Copy up to cap flows to out (in table order); returns how many. */
int64_t eg_flows_export(const eg_flows *t, eg_flow *out, int64_t cap) {
    int64_t n = 0;
    for (int64_t i = 0; i < t->cap && n < cap; i++)
        if (t->slot[i].packets) out[n++] = t->slot[i];
    return n;
}
