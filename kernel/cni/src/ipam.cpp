// SPDX-License-Identifier: Apache-2.0
// ipam.cpp - see ipam.hpp.
#include "ipam.hpp"

#include "cni_errors.hpp"
#include "cni_versions.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <vector>

extern char** environ;

namespace oryx::cni {

namespace {

std::string find_plugin(const std::string& type, const std::string& cni_path) {
  if (type.empty() || type.find('/') != std::string::npos)
    throw CniError(kInvalidConfig, "ipam.type: \"" + type + "\" is not a plugin name");
  std::stringstream dirs(cni_path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string file = dir + "/" + type;
    if (!dir.empty() && access(file.c_str(), X_OK) == 0) return file;
  }
  throw CniError(kInvalidConfig, "ipam.type: no plugin \"" + type + "\" in CNI_PATH (" + cni_path + ")",
                 "install it (Debian: containernetworking-plugins) or fix CNI_PATH");
}

// Runs `file` with CNI_COMMAND=command and `input` on stdin; its stdout.
std::string run(const std::string& file, const std::string& command, const std::string& input,
                int* status) {
  std::vector<std::string> env_text;
  for (char** e = environ; *e; e++)
    if (std::strncmp(*e, "CNI_COMMAND=", 12) != 0) env_text.push_back(*e);
  env_text.push_back("CNI_COMMAND=" + command);
  std::vector<char*> env;
  for (auto& e : env_text) env.push_back(e.data());
  env.push_back(nullptr);
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
    throw CniError(kIoFailure, "pipe: " + std::string(std::strerror(errno)));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::string arg0 = file;
  char* argv[] = {arg0.data(), nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, file.c_str(), &fa, nullptr, argv, env.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    throw CniError(kIoFailure, "cannot run " + file + ": " + std::strerror(rc));
  }
  // The configuration is small: the pipe holds it before the plugin reads.
  if (write(in[1], input.data(), input.size()) != ssize_t(input.size())) { /* it exited early */ }
  ::close(in[1]);
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof(buf))) > 0;) output.append(buf, size_t(n));
  ::close(out[0]);
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
  return output;
}

}  // namespace

nlohmann::json run_ipam(const std::string& command, const nlohmann::json& config,
                        const std::string& cni_path) {
  const std::string type = config.at("ipam").value("type", "");
  const std::string file = find_plugin(type, cni_path);
  int status = 0;
  // The newest version both speak.
  std::string offered = config.value("cniVersion", "");
  std::string answer = run(file, "VERSION", nlohmann::json{{"cniVersion", offered}}.dump(), &status);
  nlohmann::json versions = nlohmann::json::parse(answer, nullptr, false);
  std::string use = offered;
  if (versions.is_object() && versions.contains("supportedVersions"))
    use = newest_common(offered, versions["supportedVersions"]);
  if (use.empty())
    throw CniError(kIncompatibleVersion, "the IPAM plugin " + type + " speaks no CNI version up to " +
                                             offered, answer);
  nlohmann::json delegated = config;
  delegated["cniVersion"] = use;
  if (delegated.contains("prevResult")) delegated["prevResult"]["cniVersion"] = use;
  std::string out = run(file, command, delegated.dump(), &status);
  nlohmann::json result = out.empty() ? nlohmann::json() : nlohmann::json::parse(out, nullptr, false);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (result.is_object() && result.contains("code"))
      throw CniError(result.value("code", int(kIoFailure)),
                     "IPAM " + type + ": " + result.value("msg", std::string("failed")),
                     result.value("details", std::string()));
    throw CniError(kIoFailure, "IPAM " + type + " " + command + " failed", out);
  }
  if (result.is_discarded())
    throw CniError(kDecodeFailure, "IPAM " + type + " printed something that is not JSON", out);
  return result;
}

}  // namespace oryx::cni
