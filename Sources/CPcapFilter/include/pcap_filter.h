/*
 * A pcap-filter expression compiled by libpcap for raw-IP packets, behind an
 * opaque handle: libpcap's struct bpf_program and Linux's struct bpf_insn
 * share a name, and Swift cannot see both (the probe imports libbpf's).
 */
#ifndef PIPETRACE_PCAP_FILTER_H
#define PIPETRACE_PCAP_FILTER_H
#include <stddef.h>
#include <stdint.h>

typedef struct pt_pcap_filter pt_pcap_filter;

/* Compiles `expression` for packets starting at the IP header (DLT_RAW); NULL
 * with libpcap's message in `error` when it does not compile. */
pt_pcap_filter *pt_pcap_filter_compile(const char *expression, char *error, size_t error_size);

/* Non-zero when the packet passes. `caplen` bytes at `bytes`, `len` on the wire. */
int pt_pcap_filter_matches(const pt_pcap_filter *filter, const uint8_t *bytes, uint32_t caplen, uint32_t len);

void pt_pcap_filter_free(pt_pcap_filter *filter);

#endif
