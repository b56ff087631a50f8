/* SPDX-License-Identifier: Apache-2.0 */
/* bare_fwd.c - the baseline for bench/xconnect.sh: the least a DPDK program
 * can do to patch two memif ports together (rx burst, tx burst, free what
 * did not fit), with no graph, counters or plugins. */
#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define BURST 32

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static uint16_t open_memif(const char *name, const char *socket, int id, struct rte_mempool *pool)
{
	char args[256];
	uint16_t port;
	struct rte_eth_conf conf = {0};
	snprintf(args, sizeof(args), "role=client,socket=%s,id=%d", socket, id);
	if (rte_vdev_init(name, args) != 0 || rte_eth_dev_get_port_by_name(name, &port) != 0)
		rte_exit(1, "cannot create %s\n", name);
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 1024, 0, NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 1024, 0, NULL) != 0 || rte_eth_dev_start(port) != 0)
		rte_exit(1, "cannot start %s\n", name);
	return port;
}

int main(int argc, char **argv)
{
	int used = rte_eal_init(argc, argv);
	if (used < 0)
		rte_exit(1, "EAL init failed\n");
	if (argc - used != 3)
		rte_exit(2, "usage: bare_fwd [EAL args] -- SOCKET_A SOCKET_B\n");
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	struct rte_mempool *pool =
		rte_pktmbuf_pool_create("bare", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (!pool)
		rte_exit(1, "no mbuf pool\n");
	uint16_t ports[2] = {open_memif("net_memif_a", argv[used + 1], 0, pool),
			     open_memif("net_memif_b", argv[used + 2], 1, pool)};
	struct rte_mbuf *pkts[BURST];
	while (!stop) {
		for (int i = 0; i < 2; i++) {
			uint16_t n = rte_eth_rx_burst(ports[i], 0, pkts, BURST);
			if (!n)
				continue;
			uint16_t sent = rte_eth_tx_burst(ports[1 - i], 0, pkts, n);
			if (sent < n)
				rte_pktmbuf_free_bulk(pkts + sent, n - sent);
		}
	}
	for (int i = 0; i < 2; i++) {
		rte_eth_dev_stop(ports[i]);
		rte_eth_dev_close(ports[i]);
	}
	rte_eal_cleanup();
	return 0;
}
