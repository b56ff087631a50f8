/* SPDX-License-Identifier: Apache-2.0 */
/* abi.h - the frozen C ABI between the Oryx kernel and its plugins.
 *
 * A plugin is a shared object exporting exactly one symbol,
 * `oryx_plugin_entry`, which returns a size-prefixed descriptor. Everything
 * the plugin needs from the kernel (configuration, logging, counters, the
 * port registry, mbuf pools) comes through the host function table given to
 * its callbacks; a plugin never links against the kernel.
 *
 * History: 1.0 first release; 1.1 appended oryx_host_api.endpoint_register;
 *          1.2 appended oryx_host_api.service_register and service_lookup;
 *          1.3 appended oryx_host_api.port_details_register;
 *          1.4 appended oryx_host_api.kernel_table, route_register and the
 *              capture taps (capture_points, capture_attach, capture_detach);
 *          1.5 added ORYX_STAGE_SERVICE (types configured as [service.<name>]);
 *          1.6 appended oryx_host_api.worker_hosted, worker_poll, worker_wait and
 *              worker_kick (workers walked by the threads that use them: the
 *              shared-thread model) and oryx_stage_desc.wake_fds;
 *          1.7 added value formats for STRING parameters (ORYX_FORMAT_*), the
 *              stage flags ORYX_STAGE_INTERFACE and ORYX_STAGE_NEXT_INTERFACES,
 *              and appended oryx_stage_desc.check, so that --check-config
 *              refuses whatever start-up would.
 *
 * ABI policy (see docs/plugin-guide.md):
 *  - ORYX_ABI_MAJOR changes only when a struct member moves or a meaning
 *    changes; the kernel refuses any other major.
 *  - ORYX_ABI_MINOR grows when members are appended; the kernel refuses a
 *    plugin built against a newer minor than its own (fail closed).
 *  - structs only grow at the end; every struct starts with `struct_size`
 *    so the reader knows which trailing members exist. Sizes are pinned by
 *    static assertions at the bottom of this file.
 *
 * OWNERSHIP: pointers marked _host_ptr belong to the kernel and stay valid
 * for the documented lifetime; pointers marked _plugin_ptr belong to the
 * plugin and must stay valid until plugin fini (descriptors: forever).
 */
#ifndef ORYX_ABI_H
#define ORYX_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ORYX_ABI_MAJOR 1
#define ORYX_ABI_MINOR 7

/* Name of the single exported entry point. */
#define ORYX_PLUGIN_ENTRY_SYMBOL "oryx_plugin_entry"

struct rte_mbuf;
struct rte_mempool;

/* Return codes of every fallible callback. */
enum oryx_status {
	ORYX_OK = 0,
	ORYX_ERR_INVALID = -1,  /* bad configuration or argument */
	ORYX_ERR_NOMEM = -2,    /* out of memory or mbufs */
	ORYX_ERR_UNSUPPORTED = -3, /* the device or kernel lacks a feature */
	ORYX_ERR_IO = -4,       /* a device or system call failed */
	ORYX_ERR_INTERNAL = -5, /* a bug, or an exception caught at the ABI */
	ORYX_ERR_TIMEDOUT = -6, /* ABI 1.6: a wait's deadline passed */
	ORYX_ERR_INTERRUPTED = -7 /* ABI 1.6: a signal handler ran during a wait */
};

enum oryx_log_level {
	ORYX_LOG_TRACE = 0,
	ORYX_LOG_DEBUG = 1,
	ORYX_LOG_INFO = 2,
	ORYX_LOG_WARN = 3,
	ORYX_LOG_ERROR = 4,
	ORYX_LOG_CRITICAL = 5
};

/* ---- configuration schema ---------------------------------------------- */

enum oryx_param_type {
	ORYX_PARAM_BOOL = 1,
	ORYX_PARAM_INT = 2,
	ORYX_PARAM_STRING = 3,
	ORYX_PARAM_STRING_LIST = 4
};

enum oryx_param_flags {
	ORYX_PARAM_REQUIRED = 1u << 0, /* no default; the user must set it */
	ORYX_PARAM_SECRET = 1u << 1    /* redacted in /api/v1/config */
};

/* One key of a stage instance's table. Arrays of these end with name NULL. */
struct oryx_param {
	const char *name;          /* key, lower_snake */
	uint32_t type;             /* enum oryx_param_type */
	uint32_t flags;            /* enum oryx_param_flags */
	int64_t min;               /* INT: inclusive range; lists: length range */
	int64_t max;
	const char *default_value; /* TOML literal ("32", "true", "\"x\""), NULL if required */
	const char *choices;       /* STRING: allowed values separated by '|', or one
	                              ORYX_FORMAT_* (ABI 1.7), or NULL */
	const char *help;          /* one sentence for docs/configuration.md */
};

/* ABI 1.7: formats the kernel checks a STRING parameter against, given as
 * its `choices`. An empty string passes only when the default is "". Every
 * STRING and STRING_LIST value is refused if it holds a NUL byte. */
#define ORYX_FORMAT_IPV4 "@ipv4"               /* 198.18.0.1 */
#define ORYX_FORMAT_IPV4_PREFIX "@ipv4_prefix" /* 198.18.0.1/24 */
#define ORYX_FORMAT_IPV6 "@ipv6"               /* 2001:db8::1 */
#define ORYX_FORMAT_MAC "@mac"                 /* 02:00:00:00:00:01 */
#define ORYX_FORMAT_IFNAME "@ifname"           /* a Linux interface name */
#define ORYX_FORMAT_NAME "@name"               /* [A-Za-z0-9_.-], 1-64, no leading '.' */

/* ---- counters ---------------------------------------------------------- */

enum oryx_counter_kind {
	ORYX_COUNTER = 1, /* monotonic; summed over workers */
	ORYX_GAUGE = 2    /* current level; summed over workers */
};

struct oryx_counter_desc {
	const char *name; /* lower_snake, becomes oryx_stage_<name> in /metrics */
	uint32_t kind;    /* enum oryx_counter_kind */
	uint32_t reserved;
	const char *unit; /* "packets", "bytes", ... */
	const char *help;
};

/* ---- the host function table ------------------------------------------- */

/* Opaque kernel objects handed to plugins. */
struct oryx_config;   /* a validated stage table, defaults applied */
struct oryx_logger;   /* a named spdlog logger owned by the kernel */

/* A REST request for a plugin's route (ABI 1.4). */
struct oryx_http_request {
	uint32_t struct_size;
	uint32_t reserved;
	const char *method;   /* "GET", "POST", "DELETE", ... */
	const char *subpath;  /* after /api/v1/<name>: "" or "/..." */
	const char *query;    /* after '?', or "" */
	const char *body;     /* request body ("" when none), NUL-terminated */
	size_t body_size;
};

/* What the route's handler answers. The kernel frees body and file with
 * free(). With `file` set, the kernel sends that file's contents (as
 * application/octet-stream, named by its base name) instead of `body`. */
struct oryx_http_response {
	uint32_t struct_size;
	int32_t status;       /* HTTP status; 0 means 500 */
	char *body;           /* JSON text, malloc'd, or NULL */
	char *file;           /* path, malloc'd, or NULL */
};

typedef void (*oryx_route_fn)(void *ctx, const struct oryx_http_request *request,
			      struct oryx_http_response *response);

/* A capture tap (ABI 1.4): runs on a worker thread for every burst that
 * passes the point it is attached to; must not block and must not keep,
 * change or free the packets. `next` is NULL when every packet is in
 * flight; otherwise (after a stage) skip pkts[i] whose next[i] is
 * ORYX_EDGE_CONSUMED or ORYX_EDGE_DROP: the stage sent or freed them. */
typedef void (*oryx_capture_fn)(void *ctx, uint32_t worker, struct rte_mbuf *const *pkts,
				const uint16_t *next, uint16_t count);

struct oryx_host_api {
	uint32_t struct_size;
	uint16_t abi_major;
	uint16_t abi_minor;

	/* Logging; msg is copied. */
	void (*log)(struct oryx_logger *logger, int level, const char *msg);
	int (*log_enabled)(struct oryx_logger *logger, int level);

	/* Typed access to a validated stage table. Keys are the schema's names;
	 * the kernel already checked types, ranges and presence, so these only
	 * fail for a key the schema does not declare (ORYX_ERR_INVALID). */
	int (*config_bool)(const struct oryx_config *cfg, const char *key, int *out);
	int (*config_int)(const struct oryx_config *cfg, const char *key, int64_t *out);
	/* Returns a _host_ptr valid until instance_destroy. */
	int (*config_string)(const struct oryx_config *cfg, const char *key, const char **out);
	int (*config_list_size)(const struct oryx_config *cfg, const char *key, size_t *out);
	int (*config_list_string)(const struct oryx_config *cfg, const char *key, size_t index,
				  const char **out);
	/* 1 if the user wrote the key, 0 if the default applies. */
	int (*config_is_set)(const struct oryx_config *cfg, const char *key);

	/* Data plane resources. */
	uint32_t (*worker_count)(void);
	uint32_t (*burst_size)(void);
	/* The kernel's mbuf pool for a NUMA socket (SOCKET_ID_ANY allowed). */
	struct rte_mempool *(*mbuf_pool)(int socket_id);

	/* Port registry: stages that own a DPDK ethdev register it by name so the
	 * kernel reports it (/api/v1/ports) and other stages can find it. */
	int (*port_register)(const char *name, uint16_t port_id, const char *kind);
	int (*port_lookup)(const char *name, uint16_t *port_id);

	/* ---- ABI 1.1 ---- */
	/* Serves GET /api/v1/<name> with the JSON text handler(ctx) returns
	 * (malloc'd; the kernel frees it with free()). The handler runs on an
	 * HTTP thread, never a worker. Names: [a-z0-9_-], unique; registering
	 * twice, or a kernel endpoint's name, fails with ORYX_ERR_INVALID.
	 * The registration lives as long as the process (plugins are never
	 * unloaded). */
	int (*endpoint_register)(const char *name, const char *help,
				 char *(*handler)(void *ctx), void *ctx);

	/* ---- ABI 1.2 ---- */
	/* Service registry: a plugin publishes a C interface (a _plugin_ptr to a
	 * struct of function pointers that starts with struct_size) under a
	 * name and an interface version, for other plugins and for programs
	 * that embed the kernel (the preload library finds the stack's socket
	 * layer this way). Names: [a-z0-9_.-], unique per process; registering
	 * twice fails with ORYX_ERR_INVALID. service_lookup returns NULL unless
	 * the name is registered with exactly that version (fail closed). */
	int (*service_register)(const char *name, uint32_t version, const void *iface);
	const void *(*service_lookup)(const char *name, uint32_t version);

	/* ---- ABI 1.3 ---- */
	/* Adds what a plugin knows about one of its registered ports (a bond's
	 * members and LACP state, say) to that port's entry in /api/v1/ports,
	 * as "details": the JSON object handler(ctx) returns (malloc'd text;
	 * the kernel frees it). Runs on an HTTP thread. One handler per port;
	 * an unknown port or a second handler fails with ORYX_ERR_INVALID. */
	int (*port_details_register)(const char *name, char *(*handler)(void *ctx), void *ctx);

	/* ---- ABI 1.4 ---- */
	/* A validated kernel table of appliance.toml ("capture", "http", ...),
	 * read with the config_* functions; NULL for an unknown table. Valid
	 * for the life of the process. */
	const struct oryx_config *(*kernel_table)(const char *name);
	/* Serves /api/v1/<name> and everything below it, for every method, with
	 * handler (on an HTTP thread, never a worker). The kernel answers
	 * requests other than GET and HEAD itself with 401/403 unless they
	 * carry the [http] token. Names as for endpoint_register, and shared
	 * with it: a name is registered once. */
	int (*route_register)(const char *name, const char *help, oryx_route_fn handler, void *ctx);
	/* Capture points of the running graph as a JSON array (malloc'd text:
	 * [{"point", "stage", "type", "where", "direction", "help"}]): "<stage>.rx" (what a
	 * source stage received), "<stage>.in" (what enters a stage; for a
	 * port, what it transmits, also named "<stage>.tx"), "<stage>.out"
	 * (what a stage passes on). NULL before the graph exists. */
	char *(*capture_points)(void);
	/* Attaches fn to a point: ORYX_ERR_INVALID for an unknown point,
	 * ORYX_ERR_UNSUPPORTED when the point already has a tap. */
	int (*capture_attach)(const char *point, oryx_capture_fn fn, void *ctx);
	/* Detaches the point's tap and returns once no worker can still be
	 * running it (so ctx may then be freed). */
	int (*capture_detach)(const char *point);

	/* ---- ABI 1.6 ---- */
	/* The shared-thread model. A hosted worker has no thread of its own:
	 * the threads that use it (an application's, under `oryx run`) walk its
	 * graph themselves, one at a time, and a keeper thread walks it only
	 * while none of them does. 1 when `worker` is hosted, else 0. */
	int (*worker_hosted)(uint32_t worker);
	/* Walks a hosted worker's graph once on the calling thread unless
	 * another thread is walking it (that thread then walks once more for
	 * this caller). Returns the packets the walk received (>= 0), or
	 * ORYX_ERR_UNSUPPORTED when the worker has a thread of its own. */
	int (*worker_poll)(uint32_t worker);
	/* Waits until *word != value, as a futex wait: a hosted worker's graph
	 * is walked by the caller while it spins, then the caller sleeps on
	 * the word (wake it with FUTEX_WAKE_PRIVATE) while the keeper watches
	 * the ports. deadline_ns: CLOCK_MONOTONIC, 0 for none. Returns ORYX_OK,
	 * ORYX_ERR_TIMEDOUT or ORYX_ERR_INTERRUPTED (a signal arrived). */
	int (*worker_wait)(uint32_t worker, const uint32_t *word, uint32_t value,
			   int64_t deadline_ns);
	/* A stage has work for `worker` that did not arrive by a poll (a
	 * timer's output, say): the worker walks its graph soon even if every
	 * thread that uses it sleeps. Cheap when a thread polls anyway. */
	void (*worker_kick)(uint32_t worker);
};

/* ---- stages ------------------------------------------------------------ */

/* Edge value meaning "the stage took ownership of the packet" (sent it,
 * queued it, or freed it after counting the drop itself). */
#define ORYX_EDGE_CONSUMED ((uint16_t)0xFFFF)
/* Edge 0 of every stage is the kernel's drop sink: counted, then freed. */
#define ORYX_EDGE_DROP ((uint16_t)0)

/* One burst handed to a stage. Edge k (k >= 1) is the k-th name in the
 * stage's `next` list; next[i] receives the edge for pkts[i]. */
struct oryx_burst {
	uint32_t struct_size;
	uint32_t worker;           /* 0 .. worker_count-1 */
	struct rte_mbuf **pkts;    /* _host_ptr, valid for this call */
	uint16_t *next;            /* _host_ptr, one slot per packet */
	uint64_t *counters;        /* _host_ptr: this worker's row for this instance */
	uint16_t count;            /* packets in pkts (process) */
	uint16_t capacity;         /* room in pkts (poll) */
	uint32_t reserved;
};

/* Everything instance_create gets. */
struct oryx_instance_args {
	uint32_t struct_size;
	uint32_t reserved;
	const char *name;                   /* instance name, _host_ptr */
	const struct oryx_config *config;   /* _host_ptr, valid until destroy */
	const struct oryx_host_api *host;   /* _host_ptr, valid forever */
	struct oryx_logger *logger;         /* _host_ptr, "<plugin>.<instance>" */
	uint64_t *control_counters;         /* _host_ptr: row written by control threads */
	char *error;                        /* buffer for a failure reason */
	size_t error_size;
	size_t edge_count;                  /* entries in `next`, excluding drop */
	const char *const *edge_names;      /* _host_ptr: target stage names */
};

enum oryx_stage_flags {
	ORYX_STAGE_SOURCE = 1u << 0, /* has poll(): the kernel makes "<name>.rx" */
	ORYX_STAGE_SINK = 1u << 1,   /* process() only consumes or drops: the input
	                                node gets no edges but drop, so a port can be
	                                both the start and the end of a path */
	ORYX_STAGE_SERVICE = 1u << 2, /* ABI 1.5: no poll, no process, no graph node;
	                                configured as [service.<name>] (a kernel
	                                fast path, say): created, started, stopped
	                                and counted like a stage */
	ORYX_STAGE_INTERFACE = 1u << 3, /* ABI 1.7: start() registers an interface
	                                   under the stage's name (port_register) */
	ORYX_STAGE_NEXT_INTERFACES = 1u << 4 /* ABI 1.7: every `next` must name an
	                                        INTERFACE stage (start() looks them up
	                                        with port_lookup) */
};

struct oryx_stage_desc {
	uint32_t struct_size;
	uint32_t flags;                         /* enum oryx_stage_flags */
	const char *name;                       /* stage type, unique across plugins */
	const char *help;
	const struct oryx_param *params;        /* NULL-name terminated */
	const struct oryx_counter_desc *counters;
	uint32_t counter_count;
	uint32_t reserved;

	/* Control plane, main thread. */
	int (*instance_create)(const struct oryx_instance_args *args, void **instance_out);
	void (*instance_destroy)(void *instance);
	/* After every instance exists and before workers run (e.g. start a port). */
	int (*start)(void *instance, char *error, size_t error_size);
	/* After workers stopped, before destroy. */
	void (*stop)(void *instance);

	/* Worker threads; `worker` is 0 .. worker_count-1. */
	int (*worker_init)(void *instance, uint32_t worker);
	void (*worker_fini)(void *instance, uint32_t worker);

	/* Data path. poll() fills up to burst->capacity packets and their edges
	 * and returns how many; process() sets an edge for each of burst->count
	 * packets. Either may be NULL (a pure source has no process()). */
	uint16_t (*poll)(void *instance, struct oryx_burst *burst);
	void (*process)(void *instance, struct oryx_burst *burst);

	/* ---- ABI 1.6 ---- */
	/* File descriptors that become readable when this stage's poll() on
	 * `worker` would find packets (a receive queue's interrupt or event
	 * descriptor); a thread with nothing to do sleeps on them instead of
	 * polling. Writes up to max and returns how many; 0 (or NULL) when the
	 * stage has none, and the kernel then polls it on a timer while idle.
	 * The descriptors stay the stage's and stay open until stop(). */
	int (*wake_fds)(void *instance, uint32_t worker, int *fds, uint32_t max);

	/* ---- ABI 1.7 ---- */
	/* Checks an instance's validated table beyond what the schema says
	 * (values that depend on each other, ranges with holes), creating
	 * nothing; run by --check-config and by start-up, before any instance
	 * exists. On a problem writes "key: why" (or just "why") to error and
	 * returns ORYX_ERR_INVALID; the kernel adds the file, line and key.
	 * NULL: the schema says it all. */
	int (*check)(const struct oryx_host_api *host, const struct oryx_config *config,
	             size_t edge_count, const char *const *edge_names, /* as in instance args */
	             char *error, size_t error_size);
};

/* ---- plugins ----------------------------------------------------------- */

struct oryx_plugin_init_args {
	uint32_t struct_size;
	uint32_t reserved;
	const struct oryx_host_api *host; /* _host_ptr, valid forever */
	struct oryx_logger *logger;       /* _host_ptr, logger "<plugin>" */
	char *error;
	size_t error_size;
};

struct oryx_plugin_desc {
	uint32_t struct_size;
	uint16_t abi_major;       /* ORYX_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor;
	const char *name;         /* lower_snake or kebab, unique */
	const char *version;      /* the plugin's own semver */
	const char *description;
	const char *depends_on;   /* comma-separated plugin names, or NULL */
	int (*init)(const struct oryx_plugin_init_args *args);
	void (*fini)(void);
	const struct oryx_stage_desc *const *stages; /* NULL-terminated */
};

typedef const struct oryx_plugin_desc *(*oryx_plugin_entry_fn)(void);

#if defined(__GNUC__)
#define ORYX_EXPORT __attribute__((visibility("default")))
#else
#define ORYX_EXPORT
#endif

/* Pinned layouts (x86_64 / aarch64 LP64). Changing one is an ABI break. */
#if defined(__LP64__)
#ifdef __cplusplus
#define ORYX_STATIC_ASSERT static_assert
#else
#define ORYX_STATIC_ASSERT _Static_assert
#endif
ORYX_STATIC_ASSERT(sizeof(struct oryx_param) == 56, "oryx_param layout");
ORYX_STATIC_ASSERT(sizeof(struct oryx_counter_desc) == 32, "oryx_counter_desc layout");
ORYX_STATIC_ASSERT(sizeof(struct oryx_host_api) == 216, "oryx_host_api layout");
ORYX_STATIC_ASSERT(sizeof(struct oryx_http_request) == 48, "oryx_http_request layout");
ORYX_STATIC_ASSERT(sizeof(struct oryx_http_response) == 24, "oryx_http_response layout");
ORYX_STATIC_ASSERT(sizeof(struct oryx_burst) == 40, "oryx_burst layout");
ORYX_STATIC_ASSERT(sizeof(struct oryx_instance_args) == 80, "oryx_instance_args layout");
ORYX_STATIC_ASSERT(sizeof(struct oryx_stage_desc) == 128, "oryx_stage_desc layout");
ORYX_STATIC_ASSERT(sizeof(struct oryx_plugin_init_args) == 40, "oryx_plugin_init_args layout");
ORYX_STATIC_ASSERT(sizeof(struct oryx_plugin_desc) == 64, "oryx_plugin_desc layout");
#endif

#ifdef __cplusplus
}
#endif

#endif /* ORYX_ABI_H */
