/* snappy's C API (Debian: libsnappy-dev): the block format remote write uses. */
#include <snappy-c.h>
