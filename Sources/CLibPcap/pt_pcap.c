#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <pcap/pcap.h>
#include "pt_pcap.h"

struct pt_pcap_reader {
	pcap_t *handle;
	/* stdio's buffer under libpcap, ours to free after pcap_close. */
	char *buffer;
};

/* stdio's buffer under libpcap: glibc ignores setvbuf's size unless it is
 * given the buffer, and its own 4 KiB one costs a read() per few packets. */
enum { PT_PCAP_STDIO_BUFFER = 1 << 20 };

pt_pcap_reader *pt_pcap_reader_open(const char *path, char *error, size_t error_size)
{
	char message[PCAP_ERRBUF_SIZE + 1] = "";
	pcap_t *handle;
	pt_pcap_reader *reader;
	FILE *file;
	char *buffer = NULL;

	if (strcmp(path, "-") == 0) {
		handle = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, message);
	} else {
		file = fopen(path, "rb");
		if (!file) {
			snprintf(error, error_size, "%s: %s", path, strerror(errno));
			return NULL;
		}
		buffer = malloc(PT_PCAP_STDIO_BUFFER);
		if (buffer)
			setvbuf(file, buffer, _IOFBF, PT_PCAP_STDIO_BUFFER);
		/* One thread at a time reads the reader: libpcap's two freads per
		 * packet need not take the FILE's lock. */
		__fsetlocking(file, FSETLOCKING_BYCALLER);
		handle = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, message);
		if (!handle)
			fclose(file);
	}
	if (!handle) {
		free(buffer);
		snprintf(error, error_size, "%s", message);
		return NULL;
	}
	reader = calloc(1, sizeof(*reader));
	if (!reader) {
		pcap_close(handle);
		free(buffer);
		snprintf(error, error_size, "out of memory");
		return NULL;
	}
	reader->handle = handle;
	reader->buffer = buffer;
	return reader;
}

int pt_pcap_reader_link_type(const pt_pcap_reader *reader)
{
	return pcap_datalink(reader->handle);
}

int pt_pcap_reader_next(pt_pcap_reader *reader, const uint8_t **bytes, uint32_t *caplen, uint32_t *len,
			uint64_t *timestamp_ns)
{
	struct pcap_pkthdr *header;
	const u_char *data;

	switch (pcap_next_ex(reader->handle, &header, &data)) {
	case 1:
		*bytes = data;
		*caplen = header->caplen;
		*len = header->len;
		/* Opened with nanosecond precision: tv_usec holds nanoseconds. */
		*timestamp_ns = (uint64_t)(header->ts.tv_sec > 0 ? header->ts.tv_sec : 0) * 1000000000ull +
				(uint64_t)(header->ts.tv_usec > 0 ? header->ts.tv_usec : 0);
		return 1;
	case PCAP_ERROR_BREAK:
		return 0;
	default:
		return -1;
	}
}

const char *pt_pcap_reader_error(pt_pcap_reader *reader)
{
	return pcap_geterr(reader->handle);
}

void pt_pcap_reader_close(pt_pcap_reader *reader)
{
	if (!reader)
		return;
	pcap_close(reader->handle); /* closes the FILE, which no longer uses the buffer */
	free(reader->buffer);
	free(reader);
}

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
