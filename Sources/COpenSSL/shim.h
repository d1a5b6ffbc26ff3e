/* OpenSSL (Debian: libssl-dev): TLS for the exporter's HTTP client. Only
 * Exporter/TLSContext.swift and TLSStream.swift use it. What OpenSSL
 * declares as macros, Swift cannot call: these wrap the few that are needed. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static inline int pipetrace_ssl_set_server_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline int pipetrace_ssl_ctx_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

/* A peer that closes without close_notify ends the stream (we read to the
 * close, as HTTP/1.1 with `Connection: close` allows), not an error. */
static inline void pipetrace_ssl_ctx_ignore_unexpected_eof(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}
