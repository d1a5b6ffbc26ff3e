/* zlib (Debian: zlib1g-dev): gzip for OTLP/HTTP bodies (Content-Encoding: gzip). */
#include <zlib.h>
