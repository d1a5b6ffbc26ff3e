#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <pcap/pcap.h>
#include "pcap_filter.h"

struct pt_pcap_filter {
	struct bpf_program program;
};

pt_pcap_filter *pt_pcap_filter_compile(const char *expression, char *error, size_t error_size)
{
	pcap_t *dead = pcap_open_dead(DLT_RAW, 65535);
	pt_pcap_filter *filter;

	if (!dead) {
		snprintf(error, error_size, "libpcap could not open a raw-IP handle");
		return NULL;
	}
	filter = calloc(1, sizeof(*filter));
	if (!filter) {
		pcap_close(dead);
		snprintf(error, error_size, "out of memory");
		return NULL;
	}
	if (pcap_compile(dead, &filter->program, expression, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(error, error_size, "%s", pcap_geterr(dead));
		free(filter);
		pcap_close(dead);
		return NULL;
	}
	pcap_close(dead);
	return filter;
}

int pt_pcap_filter_matches(const pt_pcap_filter *filter, const uint8_t *bytes, uint32_t caplen, uint32_t len)
{
	struct pcap_pkthdr header;

	memset(&header, 0, sizeof(header));
	header.caplen = caplen;
	header.len = len < caplen ? caplen : len;
	return pcap_offline_filter(&filter->program, &header, bytes) != 0;
}

void pt_pcap_filter_free(pt_pcap_filter *filter)
{
	if (!filter)
		return;
	pcap_freecode(&filter->program);
	free(filter);
}
