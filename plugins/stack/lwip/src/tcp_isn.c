/* SPDX-License-Identifier: Apache-2.0 */
/* tcp_isn.c - initial sequence numbers per RFC 6528 (see oryx_lwip_hooks.h):
 * ISN = M + F(4-tuple, secret), M a clock of 4 us steps, F SipHash-2-4
 * (OpenSSL's) under 128 random bits drawn once per process. The same
 * 4-tuple's ISNs advance with time (an old duplicate segment cannot land in
 * a new incarnation's window); another 4-tuple's cannot be guessed from it. */
#include "oryx_lwip_hooks.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static unsigned char isn_secret[16];
static pthread_once_t isn_once = PTHREAD_ONCE_INIT;
/* One keyed context per thread (connections are opened on the stacks'
 * threads and on the application's), freed when the thread ends. */
static pthread_key_t isn_mac_key;

static void free_mac(void* ctx) { EVP_MAC_CTX_free(ctx); }

static void draw_secret(void) {
  pthread_key_create(&isn_mac_key, free_mac);
  size_t got = 0;
  while (got < sizeof isn_secret) {
    ssize_t n = getrandom(isn_secret + got, sizeof isn_secret - got, 0);
    if (n > 0) got += (size_t)n;
  }
}

static EVP_MAC_CTX* keyed_mac(void) {
  pthread_once(&isn_once, draw_secret);
  EVP_MAC_CTX* ctx = pthread_getspecific(isn_mac_key);
  if (ctx != NULL) return ctx;
  EVP_MAC* mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_SIPHASH, NULL);
  if (mac == NULL) return NULL;
  ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  size_t out = 8;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &out),
                         OSSL_PARAM_construct_end()};
  if (ctx == NULL || !EVP_MAC_init(ctx, isn_secret, sizeof isn_secret, params)) {
    EVP_MAC_CTX_free(ctx);
    return NULL;
  }
  pthread_setspecific(isn_mac_key, ctx);
  return ctx;
}

/* Without OpenSSL's SipHash (it is part of libcrypto 3, so only if its
 * providers are broken) every ISN is random: unpredictable still. */
static uint64_t keyed_hash(const unsigned char* data, size_t len) {
  uint64_t h = 0;
  size_t out_len = 0;
  EVP_MAC_CTX* ctx = keyed_mac();
  /* A NULL key restarts the context under the key it was initialized with. */
  if (ctx == NULL || !EVP_MAC_init(ctx, NULL, 0, NULL) || !EVP_MAC_update(ctx, data, len) ||
      !EVP_MAC_final(ctx, (unsigned char*)&h, &out_len, sizeof h)) {
    while (getrandom(&h, sizeof h, 0) != (ssize_t)sizeof h) {
    }
  }
  return h;
}

static size_t put_address(unsigned char* at, const ip_addr_t* a) {
  if (IP_IS_V6(a)) {
    memcpy(at, ip_2_ip6(a)->addr, 16);
    return 16;
  }
  memcpy(at, &ip_2_ip4(a)->addr, 4);
  return 4;
}

u32_t oryx_tcp_isn(const ip_addr_t* local_ip, u16_t local_port, const ip_addr_t* remote_ip,
                   u16_t remote_port) {
  unsigned char tuple[2 * 16 + 2 * 2];
  size_t n = put_address(tuple, local_ip);
  n += put_address(tuple + n, remote_ip);
  memcpy(tuple + n, &local_port, 2);
  memcpy(tuple + n + 2, &remote_port, 2);
  n += 4;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
  return (u32_t)(keyed_hash(tuple, n) + (ns >> 12));  /* 4.096 us steps */
}
