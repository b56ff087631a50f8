// SPDX-License-Identifier: Apache-2.0
// host_config.cpp - typed reads of a validated table for plugins.
#include "host_config.hpp"

namespace oryx::kernel {

namespace {

template <typename T>
int config_get(const oryx_config* cfg, const char* key, T** out) {
  if (!cfg || !key) return ORYX_ERR_INVALID;
  auto it = cfg->values.find(key);
  if (it == cfg->values.end()) return ORYX_ERR_INVALID;
  T* v = std::get_if<T>(const_cast<ParamValue*>(&it->second));
  if (!v) return ORYX_ERR_INVALID;
  *out = v;
  return ORYX_OK;
}

}  // namespace

int host_config_bool(const oryx_config* cfg, const char* key, int* out) {
  bool* v;
  int rc = config_get(cfg, key, &v);
  if (rc == ORYX_OK) *out = *v ? 1 : 0;
  return rc;
}
int host_config_int(const oryx_config* cfg, const char* key, int64_t* out) {
  int64_t* v;
  int rc = config_get(cfg, key, &v);
  if (rc == ORYX_OK) *out = *v;
  return rc;
}
int host_config_string(const oryx_config* cfg, const char* key, const char** out) {
  std::string* v;
  int rc = config_get(cfg, key, &v);
  if (rc == ORYX_OK) *out = v->c_str();
  return rc;
}
int host_config_list_size(const oryx_config* cfg, const char* key, size_t* out) {
  std::vector<std::string>* v;
  int rc = config_get(cfg, key, &v);
  if (rc == ORYX_OK) *out = v->size();
  return rc;
}
int host_config_list_string(const oryx_config* cfg, const char* key, size_t i, const char** out) {
  std::vector<std::string>* v;
  int rc = config_get(cfg, key, &v);
  if (rc != ORYX_OK) return rc;
  if (i >= v->size()) return ORYX_ERR_INVALID;
  *out = (*v)[i].c_str();
  return ORYX_OK;
}
int host_config_is_set(const oryx_config* cfg, const char* key) {
  return cfg && key && cfg->set_by_user.count(key) ? 1 : 0;
}

}  // namespace oryx::kernel
