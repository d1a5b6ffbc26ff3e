/* Intel ISA-L's igzip (Debian: libisal-dev, runtime libisal2): gzip for OTLP/HTTP bodies (Content-Encoding: gzip). */
#include <isa-l/igzip_lib.h>

/* The level buffer a compression level needs (the header's sizes are macros Swift does not import). */
static inline unsigned int pipetrace_isal_level_buffer_size(int level) {
    switch (level) {
    case 1: return ISAL_DEF_LVL1_DEFAULT;
    case 2: return ISAL_DEF_LVL2_DEFAULT;
    case 3: return ISAL_DEF_LVL3_DEFAULT;
    default: return 0;
    }
}

/* Whether the stream has written its whole output, gzip trailer included
   (read through the pointer: the stream is too large to copy). */
static inline int pipetrace_isal_finished(const struct isal_zstream *stream) {
    return stream->internal_state.state == ZSTATE_END;
}
