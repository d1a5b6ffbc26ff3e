#ifndef PIPETRACE_CLIBPCAP_SHIM_H
#define PIPETRACE_CLIBPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
