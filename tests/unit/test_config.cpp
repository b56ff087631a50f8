// SPDX-License-Identifier: Apache-2.0
// test_config.cpp - appliance.toml validation: every bad input names the
// file, the line and the key, and says what was expected and found.
#include "appliance.hpp"
#include "appliance_config.hpp"
#include "eal_args.hpp"
#include "http_access.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace oryx::kernel;

namespace {

std::string plugin_dir() { return ORYX_TEST_PLUGIN_DIR; }

// Returns every error text of `toml` (empty when valid), after plugins
// from the build tree validated the stage tables.
std::vector<ConfigError> errors_of(const std::string& toml) {
  std::string text = "[plugins]\npath = [\"" + plugin_dir() + "\"]\n" + toml;
  try {
    auto cfg = parse_config(text, "test.toml");
    Appliance a(std::move(cfg));
    a.check();
  } catch (const ConfigInvalid& e) {
    return e.errors();
  }
  return {};
}

struct BadCase {
  const char* what;
  const char* toml;  // starts on line 3 (two lines of [plugins] come first)
  unsigned line;
  const char* key;
  const char* message;
};

// A port feeding a stack; the stack's own keys follow on line 10.
#define STACK "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\nnext = \"ip\"\n[stage.ip]\ntype = \"stack\"\nnext = \"p0\"\n"

const BadCase kBad[] = {
    {"wrong type", "[kernel]\nburst = \"many\"\n", 4, "kernel.burst",
     "expected integer in 1..256, found string \"many\""},
    {"out of range", "[kernel]\nburst = 1000\n", 4, "kernel.burst",
     "expected integer in 1..256, found 1000"},
    {"unknown key with suggestion", "[kernel]\nbrust = 32\n", 4, "kernel.brust",
     "unknown key (did you mean 'burst'?)"},
    {"unknown table", "[kernal]\nburst = 32\n", 3, "kernal",
     "unknown table (did you mean 'kernel'?)"},
    {"bad choice", "[kernel]\nidle = \"busypoll\"\n", 4, "kernel.idle",
     "expected one of \"adaptive\", \"busy-poll\", found \"busypoll\" (did you mean \"busy-poll\"?)"},
    {"bad lcores", "[kernel]\nworker_lcores = \"1,x\"\n", 4, "kernel.worker_lcores",
     "expected a list of distinct CPUs"},
    {"bad log level", "[log]\nlevel = \"loud\"\n", 4, "log.level", "found \"loud\""},
    {"bad preload wildcard", "[preload]\nwildcard = \"both\"\n", 4, "preload.wildcard",
     "expected one of \"oryx\", \"kernel\", found \"both\""},
    {"bad preload connect", "[preload]\nconnect = \"subnets\"\n", 4, "preload.connect",
     "(did you mean \"subnet\"?)"},
    {"bad preload threading", "[preload]\nthreading = 2\n", 4, "preload.threading",
     "found integer 2"},
    {"misspelt preload threading", "[preload]\nthreading = \"shard\"\n", 4, "preload.threading",
     "expected one of \"shared\", \"separate-thread\", \"run-to-completion\", found \"shard\" "
     "(did you mean \"shared\"?)"},
    {"negative spin", "[preload]\nspin_us = -1\n", 4, "preload.spin_us",
     "expected integer in 0..100000, found -1"},
    {"keeper grace too short", "[preload]\nkeeper_grace_us = 10\n", 4, "preload.keeper_grace_us",
     "expected integer in 100..1000000, found 10"},
    {"TIME_WAIT cap too small",
     "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\nnext = \"ip\"\n"
     "[stage.ip]\ntype = \"stack\"\naddress = \"198.18.0.2/24\"\nnext = \"p0\"\ntime_wait_max = 8\n",
     11, "stage.ip.time_wait_max", "expected integer in 16..4194304, found 8"},
    {"receive window beyond lwIP's ceiling",
     "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\nnext = \"ip\"\n"
     "[stage.ip]\ntype = \"stack\"\naddress = \"198.18.0.2/24\"\nnext = \"p0\"\n"
     "receive_window = 9000000\n",
     11, "stage.ip.receive_window", "expected integer in 65535..8388480, found 9000000"},
    {"missing required key", "[stage.p0]\ntype = \"port\"\n", 3, "stage.p0.driver",
     "missing required key"},
    {"missing type", "[stage.p0]\ndriver = \"null\"\n", 3, "stage.p0.type",
     "missing required key"},
    {"unknown stage type", "[stage.p0]\ntype = \"prot\"\n", 3, "stage.p0.type",
     "unknown stage type \"prot\" (did you mean \"port\"?)"},
    {"unknown stage key", "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\nrx_queus = 2\n", 6,
     "stage.p0.rx_queus", "unknown key (did you mean 'rx_queues'?)"},
    {"stage key wrong type", "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\npromiscuous = 1\n", 6,
     "stage.p0.promiscuous", "expected boolean, found integer 1"},
    {"bad stage name", "[stage.P0]\ntype = \"port\"\ndriver = \"null\"\n", 3, "stage.P0",
     "expected a stage name of 1..48 characters"},
    {"unknown stage in edge",
     "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\nnext = \"xcc\"\n"
     "[stage.xc]\ntype = \"xconnect\"\nnext = [\"p0\", \"p0\"]\n",
     6, "stage.p0.next", "unknown stage \"xcc\" (did you mean \"xc\"?)"},
    {"cycle",
     "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\nnext = \"d\"\n"
     "[stage.d]\ntype = \"vlan_demux\"\nnext = \"v\"\n"
     "[stage.v]\ntype = \"vlan\"\nvid = 10\nnext = [\"p0\", \"d\"]\n",
     13, "stage.v.next", "edges form a cycle: d -> v -> d"},
    {"xconnect to a non-interface",
     "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\nnext = \"x1\"\n"
     "[stage.x1]\ntype = \"xconnect\"\nnext = [\"x2\", \"p0\"]\n"
     "[stage.x2]\ntype = \"xconnect\"\nnext = [\"x1\", \"p0\"]\n",
     9, "stage.x1.next", "found \"x2\" (type xconnect)"},
    {"next of wrong type", "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\nnext = 3\n", 6,
     "stage.p0.next", "expected stage name or list of stage names"},
    {"no HTTP threads", "[http]\nthreads = 0\n", 4, "http.threads",
     "expected integer in 1..64, found 0"},
    {"request timeout too short", "[http]\nrequest_timeout_ms = 10\n", 4, "http.request_timeout_ms",
     "expected integer in 100..60000, found 10"},
    {"API beyond loopback without a token", "[http]\nlisten = \"198.18.0.1:8080\"\n", 4,
     "http.listen", "is reachable beyond loopback: set http.token"},
    {"API on every address without a token", "[http]\nlisten = \"8080\"\n", 4, "http.listen",
     "\"8080\" is reachable beyond loopback"},
    {"unreadable certificate", "[http]\ntls_certificate = \"/nonexistent/server.pem\"\n", 4,
     "http.tls_certificate", "cannot read \"/nonexistent/server.pem\": No such file or directory"},
    {"bad TOML syntax", "[kernel]\nburst = = 3\n", 4, "(syntax)", ""},
    {"service declared as a stage", "[stage.mesh]\ntype = \"sockmap\"\ncgroups = [\"x\"]\n", 3,
     "stage.mesh.type", "\"sockmap\" is a service: declare it as [service.mesh]"},
    {"stage declared as a service", "[service.xc]\ntype = \"xconnect\"\n", 3, "service.xc.type",
     "\"xconnect\" is a packet stage: declare it as [stage.xc]"},
    {"service with edges", "[service.mesh]\ntype = \"sockmap\"\ncgroups = [\"x\"]\nnext = \"a\"\n", 6,
     "service.mesh.next", "a service has no edges"},
    {"service missing a key", "[service.mesh]\ntype = \"sockmap\"\n", 3, "service.mesh.cgroups",
     "missing required key"},
    {"stage and service of one name",
     "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\n[service.p0]\ntype = \"sockmap\"\ncgroups = [\"x\"]\n",
     6, "service.p0", "name already used by [stage.p0]"},
    // Whatever start-up would refuse, --check-config refuses first (issue 25).
    {"address not an address", STACK "address = \"banana\"\n", 10, "stage.ip.address",
     "expected IPv4 address with prefix length (198.18.0.2/24) or empty, found \"banana\""},
    {"prefix length too long", STACK "address = \"10.0.0.1/99\"\n", 10, "stage.ip.address",
     "found \"10.0.0.1/99\""},
    {"octet too large", STACK "address = \"300.1.1.1/24\"\n", 10, "stage.ip.address",
     "found \"300.1.1.1/24\""},
    {"no address at all", STACK "address = \"\"\n", 10, "stage.ip.address",
     "give the stack an address"},
    {"ipv6 not an address", STACK "address = \"198.18.0.2/24\"\nipv6 = \"banana\"\n", 11,
     "stage.ip.ipv6", "expected IPv6 address (2001:db8::10) or empty, found \"banana\""},
    {"gateway not an address", STACK "address = \"198.18.0.2/24\"\ngateway = \"banana\"\n", 11,
     "stage.ip.gateway", "expected IPv4 address (198.18.0.1) or empty, found \"banana\""},
    {"MTU below IPv4's minimum", STACK "address = \"198.18.0.2/24\"\nmtu = 1\n", 11, "stage.ip.mtu",
     "expected 0 (the port's) or 68..9000 (68 is IPv4's minimum), found 1"},
    {"stage feeding itself",
     "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\nnext = \"p0\"\n", 6, "stage.p0.next",
     "\"p0\" is this stage itself"},
    {"stack sending through a non-interface",
     "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\nnext = \"ip\"\n"
     "[stage.p1]\ntype = \"port\"\ndriver = \"null\"\n"
     "[stage.xc]\ntype = \"xconnect\"\nnext = [\"p0\", \"p1\"]\n"
     "[stage.ip]\ntype = \"stack\"\naddress = \"198.18.0.2/24\"\nnext = \"xc\"\n",
     16, "stage.ip.next", "expected a port, vlan or bond stage, found \"xc\" (type xconnect)"},
    {"xconnect with one end twice",
     "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\n"
     "[stage.xc]\ntype = \"xconnect\"\nnext = [\"p0\", \"p0\"]\n",
     6, "stage.xc", "xconnect ends must be two different ports"},
    {"interface name holding NUL", "[stage.p0]\ntype = \"port\"\ndriver = \"af_xdp\"\niface = \"eth\\u0000x\"\n",
     6, "stage.p0.iface", "expected text without NUL bytes"},
    {"interface name with a slash", "[stage.p0]\ntype = \"port\"\ndriver = \"af_xdp\"\niface = \"../x\"\n",
     6, "stage.p0.iface", "expected interface name (1-15 characters"},
    {"AF_XDP without an interface", "[stage.p0]\ntype = \"port\"\ndriver = \"af_xdp\"\n", 3,
     "stage.p0.iface", "driver af_xdp needs the kernel interface to use"},
    {"file prefix climbing out", "[kernel]\nfile_prefix = \"../../../tmp/x\"\n", 4,
     "kernel.file_prefix", "expected name of 1-64 letters, digits, '_', '-' or '.', not starting with '.', found \"../../../tmp/x\""},
    {"unknown plugin to load", "load = [\"io\", \"nosuch\"]\n", 3, "plugins.load",
     "plugin 'nosuch' not found in plugin path"},
    {"arrays nested too deep", "x = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n", 3,
     "(syntax)", "nest deeper than 32 levels"},
    {"edge to a service",
     "[stage.p0]\ntype = \"port\"\ndriver = \"null\"\nnext = \"mesh\"\n[service.mesh]\ntype = \"sockmap\"\n"
     "cgroups = [\"x\"]\n",
     6, "stage.p0.next", "\"mesh\" is a service (type sockmap) and does not receive packets"},
};

}  // namespace

TEST_CASE("each bad config gives file, line, key and message", "[kernel][config]") {
  for (const auto& c : kBad) {
    INFO(c.what);
    auto errors = errors_of(c.toml);
    REQUIRE(!errors.empty());
    const ConfigError& e = errors.front();
    CHECK(e.file == "test.toml");
    CHECK(e.line == c.line);
    CHECK(e.key == c.key);
    CHECK_THAT(e.message, Catch::Contains(c.message));
    CHECK_THAT(e.str(), Catch::StartsWith("test.toml:" + std::to_string(c.line) + ": " + c.key));
  }
}

TEST_CASE("only loopback addresses count as loopback", "[kernel][config]") {
  using oryx::kernel::listens_beyond_loopback;
  CHECK_FALSE(listens_beyond_loopback("127.0.0.1:8080"));
  CHECK_FALSE(listens_beyond_loopback("127.3.2.1:0"));
  CHECK_FALSE(listens_beyond_loopback("[::1]:8080"));
  CHECK(listens_beyond_loopback("0.0.0.0:8080"));
  CHECK(listens_beyond_loopback("[::]:8080"));
  CHECK(listens_beyond_loopback("198.18.0.1:8080"));
  CHECK(listens_beyond_loopback("8080"));
  CHECK(errors_of("[http]\nlisten = \"[::1]:8080\"\n").empty());
  CHECK(errors_of("[http]\nlisten = \"0.0.0.0:8080\"\ntoken = \"t\"\n").empty());
}

TEST_CASE("all errors of a file are reported together, in line order", "[kernel][config]") {
  auto errors = errors_of("[kernel]\nburst = 0\nmbufs = \"x\"\n[http]\nport = 80\n");
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].line == 4);
  CHECK(errors[1].line == 5);
  CHECK(errors[2].key == "http.port");
}

TEST_CASE("a valid config applies defaults and keeps what the user set", "[kernel][config]") {
  auto cfg = parse_config("[kernel]\nburst = 64\nworker_lcores = \"1, 3-4\"\n", "ok.toml");
  CHECK(cfg->kernel.get_int("burst") == 64);
  CHECK(cfg->kernel.set_by_user.count("burst") == 1);
  CHECK(cfg->kernel.get_int("mbufs") == 8191);
  CHECK(cfg->kernel.set_by_user.count("mbufs") == 0);
  CHECK(cfg->worker_lcores == std::vector<unsigned>{1, 3, 4});
  CHECK(cfg->http.get_string("listen") == "127.0.0.1:8080");
}

TEST_CASE("a control thread on a worker's CPU gets an lcore of its own", "[kernel][config]") {
  using Args = std::vector<std::string>;
  auto apart = parse_config("[kernel]\nmain_lcore = 0\nworker_lcores = \"1\"\n", "a.toml");
  Args a = eal_arguments(*apart, "oryxd");
  CHECK(Args(a.begin() + 1, a.begin() + 5) == Args{"-l", "0,1", "--main-lcore", "0"});
  // Two workers on a two-CPU machine: lcores 0 and 1 are the workers' CPUs.
  auto shared = parse_config("[kernel]\nmain_lcore = 0\nworker_lcores = \"0,1\"\n", "s.toml");
  Args s = eal_arguments(*shared, "oryxd");
  CHECK(Args(s.begin() + 1, s.begin() + 5) ==
        Args{"--lcores", "127@0,0@0,1@1", "--main-lcore", "127"});
}

TEST_CASE("a missing file is a clear error", "[kernel][config]") {
  try {
    load_config("/nonexistent/appliance.toml");
    FAIL("no error");
  } catch (const ConfigInvalid& e) {
    CHECK_THAT(e.what(), Catch::Contains("/nonexistent/appliance.toml:0: (file): cannot open"));
  }
}

TEST_CASE("did_you_mean only suggests close words", "[kernel][config]") {
  CHECK(did_you_mean("brust", {"burst", "mbufs"}) == "burst");
  CHECK(did_you_mean("zzzzzz", {"burst", "mbufs"}).empty());
}

TEST_CASE("kernel schemas are well formed", "[kernel][config]") {
  for (const auto& t : kernel_tables()) {
    INFO(t.name);
    CHECK(check_schema(t.schema).empty());
  }
}

TEST_CASE("oversized, deeply nested and over-long input is refused, not crashed on",
          "[kernel][config]") {
  auto repeat = [](const std::string& s, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; i++) out += s;
    return out;
  };
  // Issue 25: 8,000 nested arrays and 5,000 nested inline tables overflowed
  // the parser's stack.
  for (const std::string& deep : {"x = " + repeat("[", 8000) + repeat("]", 8000) + "\n",
                                  "x = " + repeat("{a=", 5000) + "1" + repeat("}", 5000) + "\n"}) {
    auto e = errors_of(deep);
    REQUIRE(!e.empty());
    CHECK(e.front().key == "(syntax)");
    CHECK_THAT(e.front().message, Catch::Contains("nest deeper than 32 levels"));
  }
  // Brackets inside strings and comments are text, not nesting.
  auto text = errors_of("[log]\nfile = \"" + repeat("[{", 40) + "\"\n# " + repeat("[", 40) +
                        "\nloggers = ['''" + repeat("[", 40) + "=info''']\n");
  for (const auto& e : text) CHECK(e.key != "(syntax)");

  // Not UTF-8 (issue 25, fuzz_config: bad bytes in a multi-line string
  // sent the TOML parser past its buffer).
  auto bytes = errors_of("[log]\nfile = \"\"\"a\nb\xff\"\"\"\n");
  REQUIRE(!bytes.empty());
  CHECK(bytes.front().key == "(syntax)");
  CHECK(bytes.front().line == 5);
  CHECK_THAT(bytes.front().message, Catch::Contains("not UTF-8"));

  auto big = errors_of("# " + std::string(size_t(2) << 20, 'x') + "\n");
  REQUIRE(!big.empty());
  CHECK(big.front().key == "(syntax)");
  CHECK_THAT(big.front().message, Catch::Contains("the limit is 1048576"));

  auto long_name = errors_of("[stage.p0]\ntype = \"port\"\ndriver = \"af_xdp\"\niface = \"" +
                             std::string(4096, 'e') + "\"\n");
  REQUIRE(!long_name.empty());
  CHECK(long_name.front().key == "stage.p0.iface");
  CHECK(long_name.front().line == 6);
}
