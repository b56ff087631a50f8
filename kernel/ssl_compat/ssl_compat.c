/* SPDX-License-Identifier: Apache-2.0
 * ssl_compat.c - lets Debian's CivetWeb 1.15 speak TLS with OpenSSL 3.
 *
 * CivetWeb loads OpenSSL at run time (dlopen "libssl.so", then dlsym of
 * every function it uses) and was built for the OpenSSL 1.1 API, whose
 * SSL_get_peer_certificate is only a macro in OpenSSL 3, so loading fails
 * ("cannot find SSL_get_peer_certificate", civetweb issue #1334). This
 * object carries the soname "libssl.so" and depends on libssl.so.3: loaded
 * first (tls_compat.cpp), it is what CivetWeb's dlopen finds; dlsym then
 * finds this one function here and every other in OpenSSL itself.
 */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

__attribute__((visibility("default"))) X509 *SSL_get_peer_certificate(const SSL *ssl)
{
	return SSL_get1_peer_certificate(ssl);
}
