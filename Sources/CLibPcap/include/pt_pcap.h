/*
 * libpcap behind opaque handles: the one C surface pipetrace uses, for
 * reading capture files and for pcap-filter expressions. Swift never sees
 * <pcap/pcap.h>, because its struct bpf_insn and Linux's (which the probe
 * imports through libbpf) share a name, and Swift cannot hold both.
 */
#ifndef PIPETRACE_PT_PCAP_H
#define PIPETRACE_PT_PCAP_H
#include <stddef.h>
#include <stdint.h>

/* --- capture files (pcap and pcapng) --- */

typedef struct pt_pcap_reader pt_pcap_reader;

/* Opens a capture file with nanosecond timestamps; NULL with libpcap's
 * message in `error` when it is not one (or cannot be read). */
pt_pcap_reader *pt_pcap_reader_open(const char *path, char *error, size_t error_size);

/* The file's link-layer type (LINKTYPE_*). */
int pt_pcap_reader_link_type(const pt_pcap_reader *reader);

/* The next packet: 1 with its fields set (bytes valid until the next call),
 * 0 at the end of the file, -1 on a cut or corrupt file (see _error). */
int pt_pcap_reader_next(pt_pcap_reader *reader, const uint8_t **bytes, uint32_t *caplen, uint32_t *len,
			uint64_t *timestamp_ns);

/* libpcap's message for the last failure. */
const char *pt_pcap_reader_error(pt_pcap_reader *reader);

void pt_pcap_reader_close(pt_pcap_reader *reader);

/* --- filter expressions --- */

typedef struct pt_pcap_filter pt_pcap_filter;

/* Compiles `expression` for packets starting at the IP header (DLT_RAW); NULL
 * with libpcap's message in `error` when it does not compile. */
pt_pcap_filter *pt_pcap_filter_compile(const char *expression, char *error, size_t error_size);

/* Non-zero when the packet passes. `caplen` bytes at `bytes`, `len` on the wire. */
int pt_pcap_filter_matches(const pt_pcap_filter *filter, const uint8_t *bytes, uint32_t caplen, uint32_t len);

void pt_pcap_filter_free(pt_pcap_filter *filter);

#endif
