/* libdeflate (Debian: libdeflate-dev, runtime libdeflate0): gzip for OTLP/HTTP bodies (Content-Encoding: gzip). */
#include <libdeflate.h>
